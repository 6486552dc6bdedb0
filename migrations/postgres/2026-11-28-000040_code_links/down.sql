DROP TABLE code_links;
