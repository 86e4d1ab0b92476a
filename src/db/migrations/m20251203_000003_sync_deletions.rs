use sea_orm::DbErr;
use sea_orm_migration::{
    MigrationName, MigrationTrait, SchemaManager, async_trait,
    sea_query::{Alias, ColumnDef, Index, Table},
};

/// The service's own record of deleted rows, so that a sync can tell the app what went;
/// the ten tables of the old schema stay as they are.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20251203_000003_sync_deletions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Alias::new("sync_deletions");
        manager
            .create_table(
                Table::create()
                    .table(table.clone())
                    .if_not_exists()
                    .col(ColumnDef::new(Alias::new("kind")).string_len(16).not_null())
                    .col(ColumnDef::new(Alias::new("row_id")).uuid().not_null())
                    .col(ColumnDef::new(Alias::new("household_id")).uuid().not_null())
                    .col(
                        ColumnDef::new(Alias::new("deleted_at"))
                            .timestamp()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Alias::new("kind"))
                            .col(Alias::new("row_id")),
                    )
                    .to_owned(),
            )
            .await?;
        // A sync reads a household's deletions since a moment; the purge, all before one.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_sync_deletions_household_id_deleted_at")
                    .table(table.clone())
                    .col(Alias::new("household_id"))
                    .col(Alias::new("deleted_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_sync_deletions_deleted_at")
                    .table(table)
                    .col(Alias::new("deleted_at"))
                    .to_owned(),
            )
            .await
    }
}
