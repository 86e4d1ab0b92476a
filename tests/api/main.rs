//! Integration tests: one binary, a module per area. Each test runs on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set (`make test` runs the binary once for each).

mod harness;
mod http_stub;
mod proxy;

mod account;
mod ai_suggestions;
mod android_calls;
mod auth;
mod authorization;
mod bad_input;
mod chaos;
mod cold_start;
mod compression;
mod conformance;
mod connections;
mod container_image;
mod deploy_manifest;
mod docs;
mod expenses;
mod health;
mod households;
mod idempotency;
mod observability;
mod paging;
mod pool_release;
mod races;
mod request_id;
mod round_trips;
mod schema;
mod sentry_reports;
mod service_process;
mod shopping;
mod stalls;
mod sync;
mod sync_app_payloads;
mod sync_conflicts;
mod sync_deletions;
mod sync_sets;
mod todos;
mod unstorable_text;
