DROP TABLE consumer_complaints;
