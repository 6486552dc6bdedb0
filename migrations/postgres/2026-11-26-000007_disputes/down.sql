DROP TABLE dispute_sanctions;
DROP TABLE dispute_evidence;
DROP TABLE dispute_decisions;
DROP TABLE dispute_events;
DROP TABLE dispute_counters;
DROP TABLE disputes;
