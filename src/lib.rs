//! tracegate: binds online sellers to real legal entities, gates marketplace listings on
//! verified traceability codes, and runs the disputes that follow.
//!
//! The binary (`src/main.rs`) is a thin command line over this library; the integration
//! tests drive the same [`startup::Application`] over HTTP.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod clock;
pub mod codes;
pub mod complaints;
pub mod config;
pub mod db;
pub mod demo;
pub mod disputes;
pub mod epcis;
pub mod error;
pub mod facts;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod keys;
pub mod leases;
pub mod links;
pub mod listings;
pub mod maintenance;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod ops;
pub mod outbound;
pub mod policies;
pub mod reseal;
pub mod retention;
pub mod sandbox;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod vault;
pub mod web;
