DROP INDEX listing_checks_listing;
