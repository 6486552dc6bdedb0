//! Integration tests: the real service over HTTP, each test with its own database.

mod fixtures;
mod helpers;

mod accounts;
mod audit;
mod authorization;
mod cli;
mod clients;
mod http_basics;
mod mail;
mod operations;
mod schema;
