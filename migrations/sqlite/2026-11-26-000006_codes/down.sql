DROP TABLE listing_check_codes;
DROP TABLE listing_checks;
DROP TABLE distributor_authorisations;
DROP TABLE company_prefix_licences;
DROP TABLE codes;
DROP TABLE code_batches;
DROP TABLE issuer_keys;
DROP TABLE issuers;
