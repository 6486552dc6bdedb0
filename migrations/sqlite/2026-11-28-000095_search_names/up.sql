-- Names as searches compare them: lower case, Vietnamese diacritics removed (đ as d),
-- spaces collapsed. Computed in the application on every write, the same on both
-- databases (SQLite's lower() folds ASCII only and PostgreSQL's unaccent may be absent);
-- rows written before this column existed are filled at start-up.
-- A seller's own name and business name, each folded, one per line: a folded search
-- pattern never holds a line break, so it never matches across the two.
ALTER TABLE sellers ADD COLUMN search_name TEXT;
ALTER TABLE seller_bindings ADD COLUMN search_shop_name TEXT;
-- Receipts to one address are counted over the last day.
CREATE INDEX consumer_complaints_by_email ON consumer_complaints (email, created_at);
