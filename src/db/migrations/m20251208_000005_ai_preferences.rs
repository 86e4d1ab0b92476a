use sea_orm::DbErr;
use sea_orm_migration::{
    MigrationName, MigrationTrait, SchemaManager, async_trait,
    sea_query::{Alias, ColumnDef, ForeignKey, ForeignKeyAction, Table},
};

/// The service's own record of a user's choice about AI features (on unless a row says
/// otherwise). The ten tables of the old schema stay as they are.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20251208_000005_ai_preferences"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Alias::new("ai_preferences");
        manager
            .create_table(
                Table::create()
                    .table(table.clone())
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Alias::new("user_id"))
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("ai_features"))
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("updated_at"))
                            .timestamp()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("ai_preferences_user_id_fkey")
                            .from(table, Alias::new("user_id"))
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }
}
