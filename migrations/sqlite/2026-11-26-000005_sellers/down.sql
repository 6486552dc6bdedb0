DROP TABLE platform_webhooks;
DROP TABLE seller_bindings;
DROP TABLE binding_codes;
DROP TABLE sellers;
