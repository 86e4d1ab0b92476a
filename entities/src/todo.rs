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

/// Every todo `query` finds, read by column position instead of by name: SeaORM's by-name
/// reader looks each column up by name and, for every NULL it meets, formats the column's
/// name into an error it then discards, which cost lists of todos a fifth of their CPU.
pub async fn all(query: Select<Entity>, conn: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    let rows = query.into_model::<ByPosition>().all(conn).await?;
    Ok(rows.into_iter().map(|row| row.0).collect())
}

/// A whole-entity select lists `Column::iter()` in declaration order, so a column's
/// position is its discriminant.
struct ByPosition(Model);

impl sea_orm::FromQueryResult for ByPosition {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        let at = |column: Column| column as usize;
        Ok(Self(Model {
            id: row.try_get_by_index(at(Column::Id))?,
            household_id: row.try_get_by_index(at(Column::HouseholdId))?,
            title: row.try_get_by_index(at(Column::Title))?,
            description: row.try_get_by_index(at(Column::Description))?,
            status: row.try_get_by_index(at(Column::Status))?,
            priority: row.try_get_by_index(at(Column::Priority))?,
            due_date: row.try_get_by_index(at(Column::DueDate))?,
            assigned_to_id: row.try_get_by_index(at(Column::AssignedToId))?,
            created_by: row.try_get_by_index(at(Column::CreatedBy))?,
            recurring_pattern: row.try_get_by_index(at(Column::RecurringPattern))?,
            recurring_until: row.try_get_by_index(at(Column::RecurringUntil))?,
            parent_todo_id: row.try_get_by_index(at(Column::ParentTodoId))?,
            completed_at: row.try_get_by_index(at(Column::CompletedAt))?,
            created_at: row.try_get_by_index(at(Column::CreatedAt))?,
            updated_at: row.try_get_by_index(at(Column::UpdatedAt))?,
        }))
    }
}
