DROP TABLE identity_holders;
