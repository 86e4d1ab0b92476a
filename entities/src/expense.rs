use sea_orm::entity::prelude::*;

use crate::{
    enums::{ExpenseCategory, PaymentMethod, SplitType},
    money::Money,
};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "expenses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub household_id: Uuid,
    pub created_by: Uuid,
    #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
    pub amount: Money,
    pub description: String,
    pub category: ExpenseCategory,
    pub payment_method: PaymentMethod,
    pub date: DateTime,
    pub split_type: SplitType,
    pub is_personal: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::household::Entity",
        from = "Column::HouseholdId",
        to = "super::household::Column::Id"
    )]
    Household,
    #[sea_orm(has_many = "super::expense_split::Entity")]
    Split,
}

impl Related<super::expense_split::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Split.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
