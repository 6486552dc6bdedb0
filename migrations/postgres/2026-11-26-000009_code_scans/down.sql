DROP TABLE code_scan_flags;
DROP TABLE code_scans;
