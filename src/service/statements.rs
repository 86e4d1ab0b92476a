//! The pieces of a write that is one statement (`Db::once`): its checks as SQL conditions
//! (membership, of a household or of a list's household), a row inserted whole, columns
//! set one by one, and the rows it answers. The rules themselves stay with each area;
//! these only spell them in SQL, the same on PostgreSQL and SQLite.

use sea_orm::{
    ActiveEnum, DbBackend, DbErr, EntityTrait, FromQueryResult, ModelTrait, Statement, Value,
    sea_query::Iden,
};
use uuid::Uuid;

use super::patch::Patch;
use crate::db::{
    Db,
    bulk::{Params, column_names, rows_from, select_list},
};

/// `E`'s table, quoted.
pub fn table<E: EntityTrait>() -> String {
    format!("\"{}\"", E::default().table_name())
}

/// Inserts `row` (whose id is `id`) whole, in one statement, while the conditions `guard`
/// spells hold; answers whether it did.
pub async fn insert_once<M>(
    db: &Db,
    id: Uuid,
    row: M,
    guard: impl FnOnce(&mut Params) -> Vec<String> + Send + 'static,
) -> Result<bool, DbErr>
where
    M: ModelTrait + Send + 'static,
{
    let written = db
        .once(
            vec![Box::new(move |params, claimed| {
                let mut guard = guard(params);
                guard.push(claimed.to_owned());
                insert(params, row, &guard.join(" AND "))
            })],
            by_id::<M::Entity>(db.backend(), id),
        )
        .await?;
    Ok(!written.is_empty())
}

/// Updates the row `id` of `E`, in one statement, setting what `change` spells while the
/// conditions it spells hold; answers the row as updated, or none when they did not.
pub async fn update_once<E>(
    db: &Db,
    id: Uuid,
    change: impl FnOnce(&mut Params) -> (Set, Vec<String>) + Send + 'static,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
{
    let written = db
        .once(
            vec![Box::new(move |params, claimed| {
                let (set, mut guard) = change(params);
                guard.push(claimed.to_owned());
                Ok(update::<E>(params, id, set, &guard.join(" AND ")))
            })],
            by_id::<E>(db.backend(), id),
        )
        .await?;
    written
        .first()
        .map(|row| E::Model::from_query_result(row, ""))
        .transpose()
}

/// An insert of `row` whole while `guard` holds, answering its id.
pub fn insert<M: ModelTrait>(params: &mut Params, row: M, guard: &str) -> Result<String, DbErr> {
    insert_all(params, &[row], guard)
}

/// An insert of `rows` whole while `guard` holds, answering their ids.
pub fn insert_all<M: ModelTrait>(
    params: &mut Params,
    rows: &[M],
    guard: &str,
) -> Result<String, DbErr> {
    let table = table::<M::Entity>();
    let columns = column_names::<M::Entity>();
    let rows = rows_from(params, rows, "r")?;
    Ok(format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {rows} WHERE {guard} RETURNING \"id\""
    ))
}

/// An update of the row `id` of `E` setting `set` while `guard` holds, answering the row.
pub fn update<E: EntityTrait>(params: &mut Params, id: Uuid, set: Set, guard: &str) -> String {
    let table = table::<E>();
    let id = params.bind(id);
    format!(
        "UPDATE {table} SET {} WHERE {table}.\"id\" = {id} AND {guard} RETURNING {}",
        set.0.join(", "),
        select_list::<E>(params.backend(), &table)
    )
}

/// The row `id` of `E`, as an update of it answers it: what a write whose answer was lost
/// reads back.
pub fn by_id<E: EntityTrait>(backend: DbBackend, id: Uuid) -> Statement {
    let table = table::<E>();
    let mut params = Params::new(backend);
    let id = params.bind(id);
    Statement::from_sql_and_values(
        backend,
        format!(
            "SELECT {} FROM {table} WHERE {table}.\"id\" = {id}",
            select_list::<E>(backend, &table)
        ),
        params.values,
    )
}

/// What a write that answers no row reads back once it is known to have committed.
pub fn done(backend: DbBackend) -> Statement {
    Statement::from_string(backend, "SELECT 1 AS id")
}

/// The `SET` list of an update.
#[derive(Default)]
pub struct Set(Vec<String>);

impl Set {
    /// `column = value`.
    pub fn value(&mut self, params: &mut Params, column: impl Iden, value: impl Into<Value>) {
        let value = params.bind(value);
        self.raw(column, value);
    }

    /// `column = value`, when the change names one.
    pub fn some(
        &mut self,
        params: &mut Params,
        column: impl Iden,
        value: Option<impl Into<Value>>,
    ) {
        if let Some(value) = value {
            self.value(params, column, value);
        }
    }

    /// A nullable column: kept, cleared, or set.
    pub fn patch<T: Into<Value>>(
        &mut self,
        params: &mut Params,
        column: impl Iden,
        patch: Patch<T>,
    ) {
        match patch {
            Patch::Keep => {}
            Patch::Clear => self.raw(column, "NULL"),
            Patch::Set(value) => self.value(params, column, value),
        }
    }

    /// An enum column, to `label` (cast to the column's type on PostgreSQL).
    pub fn label<E: ActiveEnum<Value = String>>(
        &mut self,
        params: &mut Params,
        column: impl Iden,
        label: E,
    ) {
        let value = params.bind(label.to_value());
        let value = match params.backend() {
            DbBackend::Postgres => format!("CAST({value} AS \"{}\")", E::name()),
            _ => value,
        };
        self.raw(column, value);
    }

    /// `column = sql`.
    pub fn raw(&mut self, column: impl Iden, sql: impl Into<String>) {
        self.0
            .push(format!("\"{}\" = {}", column.to_string(), sql.into()));
    }
}
