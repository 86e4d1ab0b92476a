//! The service's schema migrations. A database the old backend's Alembic migrations built
//! (it has `alembic_version`) is adopted: its ten tables are recognised and left untouched.

mod m20251101_000001_initial_schema;
mod m20251127_000002_idempotency_keys;
mod m20251203_000003_sync_deletions;
mod m20251207_000004_category_owners;
mod m20251208_000005_ai_preferences;

use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20251101_000001_initial_schema::Migration),
            Box::new(m20251127_000002_idempotency_keys::Migration),
            Box::new(m20251203_000003_sync_deletions::Migration),
            Box::new(m20251207_000004_category_owners::Migration),
            Box::new(m20251208_000005_ai_preferences::Migration),
        ]
    }
}
