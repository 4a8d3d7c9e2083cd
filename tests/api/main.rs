//! The one integration test binary: every test spawns the real server on
//! `127.0.0.1:0` against a fresh database, a temporary SQLite file, or a
//! new PostgreSQL database when `SCIMD_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod admin;
mod admin_search;
mod auth;
mod backup;
mod bench;
mod bulk;
mod cli;
mod conformance;
mod console;
mod deploy;
mod deprovisioning;
mod dialect;
mod discovery;
mod errors;
mod groups;
mod helpers;
mod idp_shapes;
mod logs;
mod metrics;
mod operator;
mod ops;
mod patch;
mod pending;
mod phone;
mod query;
mod races;
mod readme;
mod revocation;
mod robustness;
mod streaming;
mod tenancy;
mod user_names;
mod users;
mod webhooks;
