//! Integration tests: the real service over HTTP, each test with its own database.

mod fixtures;
mod helpers;

mod abuse;
mod accounts;
mod audit;
mod authorization;
mod binding;
mod browser;
mod cli;
mod client;
mod clients;
mod codes;
mod contract;
mod disputes;
mod epcis;
mod gate_facts;
mod http_basics;
mod idempotency;
mod identity;
mod listings;
mod mail;
mod operations;
mod pages;
mod registry_http;
mod resolver;
mod revocation;
mod sandbox;
mod schema;
mod schemathesis;
mod stubs;
mod verify;
mod vietnamese;
mod webhooks;
