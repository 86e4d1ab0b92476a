use sea_orm::entity::prelude::*;

use crate::enums::{TodoPriority, TodoStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "todos")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub household_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub status: TodoStatus,
    pub priority: TodoPriority,
    pub due_date: Option<DateTime>,
    pub assigned_to_id: Option<Uuid>,
    pub created_by: Uuid,
    pub recurring_pattern: Option<String>,
    pub recurring_until: Option<DateTime>,
    pub parent_todo_id: Option<Uuid>,
    pub completed_at: Option<DateTime>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::household::Entity",
        from = "Column::HouseholdId",
        to = "super::household::Column::Id",
        on_delete = "Cascade"
    )]
    Household,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AssignedToId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    AssignedTo,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatedBy",
        to = "super::user::Column::Id"
    )]
    Creator,
}

impl ActiveModelBehavior for ActiveModel {}
