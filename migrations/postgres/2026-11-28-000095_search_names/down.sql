DROP INDEX consumer_complaints_by_email;
ALTER TABLE seller_bindings DROP COLUMN search_shop_name;
ALTER TABLE sellers DROP COLUMN search_name;
