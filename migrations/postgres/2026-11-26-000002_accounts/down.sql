DROP TABLE login_attempts;
DROP TABLE refresh_tokens;
DROP TABLE account_tokens;
DROP TABLE accounts;
