//! Integration tests: the real service over HTTP, each test with its own database.

mod helpers;

mod audit;
mod cli;
mod http_basics;
mod operations;
mod schema;
