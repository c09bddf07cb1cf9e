//! Integration tests against a real PostgreSQL + PostGIS (DATABASE_URL): every
//! test gets a fresh database cloned from a migrated template.

mod access;
mod accounts;
mod admin;
mod browser;
mod configuration;
mod deadlines;
mod deployment;
mod evaluation;
mod events;
mod exports;
mod faults;
mod hotspots;
mod import;
mod intake;
mod limits;
mod locate;
mod open311;
mod openapi;
mod public_view;
mod reload;
mod scenario;
mod support;
mod tiles;
mod users;
mod workflow;
