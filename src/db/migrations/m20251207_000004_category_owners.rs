use sea_orm::DbErr;
use sea_orm_migration::{
    MigrationName, MigrationTrait, SchemaManager, async_trait,
    sea_query::{Alias, ColumnDef, ForeignKey, ForeignKeyAction, Index, Table},
};

/// The service's own record of who made a category without a household: such a category
/// is its creator's, not every household's. The ten tables of the old schema stay as they
/// are.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20251207_000004_category_owners"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Alias::new("category_owners");
        manager
            .create_table(
                Table::create()
                    .table(table.clone())
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Alias::new("category_id"))
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Alias::new("user_id")).uuid().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("category_owners_category_id_fkey")
                            .from(table.clone(), Alias::new("category_id"))
                            .to(Alias::new("item_categories"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("category_owners_user_id_fkey")
                            .from(table.clone(), Alias::new("user_id"))
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A user's picker lists their own categories.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_category_owners_user_id")
                    .table(table)
                    .col(Alias::new("user_id"))
                    .to_owned(),
            )
            .await
    }
}
