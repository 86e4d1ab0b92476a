use sea_orm::entity::prelude::*;

use crate::money::Money;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "shopping_list_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub shopping_list_id: Uuid,
    pub name: String,
    #[sea_orm(column_type = "Double")]
    pub quantity: f64,
    pub unit: Option<String>,
    pub category: Option<String>,
    pub is_purchased: bool,
    pub assigned_to_id: Option<Uuid>,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))", nullable)]
    pub price: Option<Money>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub is_recurring: bool,
    pub recurring_pattern: Option<String>,
    pub recurring_until: Option<DateTime>,
    pub last_recurring_date: Option<DateTime>,
    pub checked_off_by: Option<Uuid>,
    pub checked_off_at: Option<DateTime>,
    pub position: i32,
    pub created_by: Uuid,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::shopping_list::Entity",
        from = "Column::ShoppingListId",
        to = "super::shopping_list::Column::Id",
        on_delete = "Cascade"
    )]
    ShoppingList,
}

impl Related<super::shopping_list::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ShoppingList.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
