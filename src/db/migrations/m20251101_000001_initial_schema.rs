use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager, async_trait};

const POSTGRES: &str = include_str!("initial_postgres.sql");
const SQLITE: &str = include_str!("initial_sqlite.sql");

/// The table Alembic keeps its revision in: its presence means the old backend built the schema.
const ALEMBIC_VERSION: &str = "alembic_version";

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20251101_000001_initial_schema"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_table(ALEMBIC_VERSION).await? {
            tracing::info!("adopting the schema built by the old backend's Alembic migrations");
            return Ok(());
        }
        let script = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES,
            DbBackend::Sqlite => SQLITE,
            other => {
                return Err(DbErr::BackendNotSupported {
                    db: other.as_str(),
                    ctx: "initial schema",
                });
            }
        };
        manager.get_connection().execute_unprepared(script).await?;
        Ok(())
    }
}
