//! Integration tests: the real service over HTTP, each test with its own database.

mod fixtures;
mod helpers;

mod accounts;
mod audit;
mod authorization;
mod binding;
mod browser;
mod cli;
mod clients;
mod codes;
mod disputes;
mod epcis;
mod gate_facts;
mod http_basics;
mod identity;
mod listings;
mod mail;
mod operations;
mod pages;
mod registry_http;
mod resolver;
mod schema;
mod stubs;
mod verify;
