DROP TABLE authorisation_letters;
