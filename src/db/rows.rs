//! The hot lists' rows (a household's todos, a list's items), read by column position
//! straight from the driver's row. SeaORM's readers look each value up and check its type
//! twice, and for every NULL format the column's name or index into an error they then
//! discard; a list of 50 todos reads 750 values, which cost a fifth of the request's CPU.

use std::sync::Arc;

use entities::{
    enums::{TodoPriority, TodoStatus},
    money::Money,
    shopping_list_item, todo,
};
use sea_orm::{
    ActiveEnum, ConnectionTrait, DbErr, EntityTrait, QueryResult, QueryTrait, RuntimeErr, Select,
    SqlxError,
    prelude::Decimal,
    sqlx::{
        Column, Decode, Postgres, Row, Sqlite, Type, TypeInfo, postgres::PgRow, sqlite::SqliteRow,
    },
};

/// A model read from the columns of a whole-entity select. Such a select lists the
/// entity's columns in declaration order, so a column's position is its discriminant.
pub trait FromColumns: Sized {
    fn from_columns(row: &Columns<'_>) -> Result<Self, DbErr>;
}

/// Every row `query` finds.
pub async fn all<E>(query: Select<E>, conn: &impl ConnectionTrait) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromColumns,
{
    let rows = conn
        .query_all_raw(query.build(conn.get_database_backend()))
        .await?;
    read(&rows)
}

fn read<M: FromColumns>(rows: &[QueryResult]) -> Result<Vec<M>, DbErr> {
    rows.iter()
        .enumerate()
        .map(|(n, row)| M::from_columns(&Columns::of(row, n == 0)?))
        .collect()
}

/// One row, and the driver's own row under it.
pub struct Columns<'r> {
    row: &'r QueryResult,
    driver: Driver<'r>,
    /// Whether column types are checked. Every row of a PostgreSQL answer has the types of
    /// its first row, whose columns are all checked (NULL or not); checking each value of
    /// every row, as sqlx does, took a third of the reading. SQLite types each value on its
    /// own, so its values are always checked.
    check_types: bool,
}

enum Driver<'r> {
    Postgres(&'r PgRow),
    Sqlite(&'r SqliteRow),
}

/// A column type both drivers decode themselves.
pub trait Decoded:
    Type<Postgres> + for<'r> Decode<'r, Postgres> + Type<Sqlite> + for<'r> Decode<'r, Sqlite>
{
}

impl<T> Decoded for T where
    T: Type<Postgres> + for<'r> Decode<'r, Postgres> + Type<Sqlite> + for<'r> Decode<'r, Sqlite>
{
}

impl<'r> Columns<'r> {
    fn of(row: &'r QueryResult, check_types: bool) -> Result<Self, DbErr> {
        let driver = if let Some(pg) = row.try_as_pg_row() {
            Driver::Postgres(pg)
        } else if let Some(lite) = row.try_as_sqlite_row() {
            Driver::Sqlite(lite)
        } else {
            return Err(DbErr::Type("a row of an unknown driver".into()));
        };
        Ok(Self {
            row,
            driver,
            check_types,
        })
    }

    /// The value of column `at`.
    pub fn get<T: Decoded>(&self, at: usize) -> Result<T, DbErr> {
        match self.driver {
            Driver::Postgres(row) => self.postgres(row, at),
            Driver::Sqlite(row) => row.try_get(at).map_err(driver_error),
        }
    }

    /// Column `at` of a PostgreSQL row, its type checked on the answer's first row only.
    fn postgres<T>(&self, row: &PgRow, at: usize) -> Result<T, DbErr>
    where
        T: Type<Postgres> + for<'v> Decode<'v, Postgres>,
    {
        if self.check_types {
            let column = row.try_column(at).map_err(driver_error)?;
            if !T::compatible(column.type_info()) {
                return Err(driver_error(SqlxError::ColumnDecode {
                    index: at.to_string(),
                    source: format!(
                        "the column's type {} does not decode as {}",
                        column.type_info().name(),
                        std::any::type_name::<T>()
                    )
                    .into(),
                }));
            }
        }
        row.try_get_unchecked(at).map_err(driver_error)
    }

    /// An enum column, stored (or, on PostgreSQL, selected) as its label.
    pub fn label<E: ActiveEnum<Value = String>>(&self, at: usize) -> Result<E, DbErr> {
        E::try_from_value(&self.get(at)?)
    }

    /// A money column: `NUMERIC` on PostgreSQL; on SQLite, its exact text, which
    /// `Money`'s own reader parses.
    pub fn money(&self, at: usize) -> Result<Option<Money>, DbErr> {
        match self.driver {
            Driver::Postgres(row) => Ok(self.postgres::<Option<Decimal>>(row, at)?.map(Money::new)),
            Driver::Sqlite(_) => self.row.try_get_by_index(at),
        }
    }
}

fn driver_error(err: SqlxError) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

impl FromColumns for todo::Model {
    fn from_columns(row: &Columns<'_>) -> Result<Self, DbErr> {
        use todo::Column as C;
        let at = |column: C| column as usize;
        Ok(Self {
            id: row.get(at(C::Id))?,
            household_id: row.get(at(C::HouseholdId))?,
            title: row.get(at(C::Title))?,
            description: row.get(at(C::Description))?,
            status: row.label::<TodoStatus>(at(C::Status))?,
            priority: row.label::<TodoPriority>(at(C::Priority))?,
            due_date: row.get(at(C::DueDate))?,
            assigned_to_id: row.get(at(C::AssignedToId))?,
            created_by: row.get(at(C::CreatedBy))?,
            recurring_pattern: row.get(at(C::RecurringPattern))?,
            recurring_until: row.get(at(C::RecurringUntil))?,
            parent_todo_id: row.get(at(C::ParentTodoId))?,
            completed_at: row.get(at(C::CompletedAt))?,
            created_at: row.get(at(C::CreatedAt))?,
            updated_at: row.get(at(C::UpdatedAt))?,
        })
    }
}

impl FromColumns for shopping_list_item::Model {
    fn from_columns(row: &Columns<'_>) -> Result<Self, DbErr> {
        use shopping_list_item::Column as C;
        let at = |column: C| column as usize;
        Ok(Self {
            id: row.get(at(C::Id))?,
            shopping_list_id: row.get(at(C::ShoppingListId))?,
            name: row.get(at(C::Name))?,
            quantity: row.get(at(C::Quantity))?,
            unit: row.get(at(C::Unit))?,
            category: row.get(at(C::Category))?,
            is_purchased: row.get(at(C::IsPurchased))?,
            assigned_to_id: row.get(at(C::AssignedToId))?,
            price: row.money(at(C::Price))?,
            notes: row.get(at(C::Notes))?,
            is_recurring: row.get(at(C::IsRecurring))?,
            recurring_pattern: row.get(at(C::RecurringPattern))?,
            recurring_until: row.get(at(C::RecurringUntil))?,
            last_recurring_date: row.get(at(C::LastRecurringDate))?,
            checked_off_by: row.get(at(C::CheckedOffBy))?,
            checked_off_at: row.get(at(C::CheckedOffAt))?,
            position: row.get(at(C::Position))?,
            created_by: row.get(at(C::CreatedBy))?,
            created_at: row.get(at(C::CreatedAt))?,
            updated_at: row.get(at(C::UpdatedAt))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{Database, DbBackend, Statement};

    use super::*;

    /// The first column, as text.
    #[derive(Debug, PartialEq)]
    struct Text(Option<String>);

    impl FromColumns for Text {
        fn from_columns(row: &Columns<'_>) -> Result<Self, DbErr> {
            row.get(0).map(Self)
        }
    }

    async fn texts(sql: &str) -> Option<Result<Vec<Text>, DbErr>> {
        let url = std::env::var("TEST_DATABASE_URL").ok()?;
        let conn = Database::connect(url).await.expect("connect");
        let rows = conn
            .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .expect("query");
        Some(read(&rows))
    }

    #[tokio::test]
    async fn every_row_of_a_postgres_answer_is_read_with_the_first_rows_checked_types() {
        let Some(read) = texts("SELECT 'a'::text UNION ALL SELECT NULL UNION ALL SELECT 'c'").await
        else {
            return; // PostgreSQL only
        };
        let expected = [Some("a"), None, Some("c")].map(|t| Text(t.map(str::to_owned)));
        assert_eq!(read.expect("text reads as text"), expected);
    }

    #[tokio::test]
    async fn a_column_of_another_type_is_refused_even_when_its_first_value_is_null() {
        let Some(read) = texts("SELECT NULL::int4 UNION ALL SELECT 5").await else {
            return; // PostgreSQL only
        };
        let refused = read.expect_err("an int4 column is not text");
        assert!(refused.to_string().contains("INT4"), "{refused}");
    }
}
