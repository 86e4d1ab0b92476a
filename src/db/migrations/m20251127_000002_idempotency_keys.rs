use sea_orm::DbErr;
use sea_orm_migration::{
    MigrationName, MigrationTrait, SchemaManager, async_trait,
    sea_query::{Alias, ColumnDef, Index, Table},
};

/// The service's own table for idempotency keys; the ten tables of the old schema stay as
/// they are.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20251127_000002_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Alias::new("idempotency_keys");
        manager
            .create_table(
                Table::create()
                    .table(table.clone())
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Alias::new("scope"))
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Alias::new("key")).string_len(255).not_null())
                    .col(
                        ColumnDef::new(Alias::new("request_hash"))
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Alias::new("status")).small_integer().null())
                    .col(ColumnDef::new(Alias::new("response_body")).text().null())
                    .col(
                        ColumnDef::new(Alias::new("created_at"))
                            .timestamp()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Alias::new("scope"))
                            .col(Alias::new("key")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_idempotency_keys_created_at")
                    .table(table)
                    .col(Alias::new("created_at"))
                    .to_owned(),
            )
            .await
    }
}
