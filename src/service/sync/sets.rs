//! A sync's statements, each for a whole set of rows (the household's members are read
//! once before them, by `access::members_held`): per kind, one statement reading (and on PostgreSQL holding) every row its entries name
//! with what is recorded of their deletion, and one writing what the entries came to. Their
//! text does not change with the number of entries (the rows go as one JSON parameter), so
//! PostgreSQL prepares each once per connection. On PostgreSQL a kind's writes are one
//! statement of data-modifying CTEs; SQLite, which has none, runs them one after another,
//! the same few whatever the size.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use entities::expense_split;
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, FromQueryResult, Iterable,
    QueryResult, Statement,
};
use uuid::Uuid;

use super::{
    kinds::{Context, Kind},
    plan::{Found, Plan},
};
use crate::{
    db::{
        Txn,
        bulk::{Params, column_names, ids_from, quoted, rows_from, select_list},
    },
    domain::ids::{HouseholdId, ShoppingListId},
    service::changes::{RowKind, deletions},
};

/// How a kind's rows belong to a household: a join to reach the column, and the column.
fn household_of(kind: RowKind) -> (&'static str, &'static str) {
    match kind {
        RowKind::ShoppingItem => (
            "JOIN \"shopping_lists\" l ON l.\"id\" = t.\"shopping_list_id\"",
            "l.\"household_id\"",
        ),
        _ => ("", "t.\"household_id\""),
    }
}

fn table<K: Kind>() -> String {
    format!("\"{}\"", K::Entity::default().table_name())
}

/// A union branch's row of `K`'s width, with `id` first and the rest NULL.
fn id_and_nulls<K: Kind>(id: &str) -> String {
    let rest = <K::Entity as EntityTrait>::Column::iter().count() - 1;
    let mut columns = vec![id.to_owned()];
    columns.extend(std::iter::repeat_n("NULL".to_owned(), rest));
    columns.join(", ")
}

/// What a branch of the read is.
const OURS: i32 = 0;
const ELSEWHERE: i32 = 1;
const DELETED: i32 = 2;
const OUR_LIST: i32 = 3;

/// Every row of `K` named by `ids`: the household's (held on PostgreSQL until the sync
/// ends), which ids are another household's, and which were deleted from this one. For
/// items, also which of `lists` (the lists they name) are the household's.
pub async fn read<K: Kind>(
    txn: &Txn,
    household_id: HouseholdId,
    ids: Vec<Uuid>,
    lists: Vec<ShoppingListId>,
) -> Result<(Found<K::Row>, HashSet<ShoppingListId>), DbErr> {
    let backend = txn.get_database_backend();
    let mut params = Params::new(backend);
    let named = ids_from(&mut params, ids);
    let household = params.bind(household_id.uuid());
    let (join, owner) = household_of(K::KIND);
    let table = table::<K>();
    let columns = select_list::<K::Entity>(backend, "t");
    // The household's rows only: another's are looked at, never held.
    let hold = match backend {
        DbBackend::Postgres => "FOR NO KEY UPDATE OF t",
        _ => "",
    };
    let kind = K::KIND.as_str();
    let mut sql = format!(
        "WITH named AS ({named}), \
         ours AS (SELECT {columns} FROM {table} t {join} \
                  WHERE t.\"id\" IN (SELECT id FROM named) AND {owner} = {household} {hold}) \
         SELECT ours.*, {OURS} AS what, CAST(NULL AS TIMESTAMP) AS deleted_at FROM ours \
         UNION ALL SELECT {elsewhere}, {ELSEWHERE}, NULL FROM {table} t {join} \
                  WHERE t.\"id\" IN (SELECT id FROM named) AND {owner} <> {household} \
         UNION ALL SELECT {deleted}, {DELETED}, d.\"deleted_at\" FROM \"sync_deletions\" d \
                  WHERE d.\"kind\" = '{kind}' AND d.\"row_id\" IN (SELECT id FROM named) \
                  AND d.\"household_id\" = {household}",
        elsewhere = id_and_nulls::<K>("t.\"id\""),
        deleted = id_and_nulls::<K>("d.\"row_id\""),
    );
    if K::KIND == RowKind::ShoppingItem {
        let lists = ids_from(&mut params, lists.into_iter().map(ShoppingListId::uuid));
        sql.push_str(&format!(
            " UNION ALL SELECT {list}, {OUR_LIST}, NULL FROM \"shopping_lists\" l \
              WHERE l.\"id\" IN ({lists}) AND l.\"household_id\" = {household}",
            list = id_and_nulls::<K>("l.\"id\""),
        ));
    }
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, params.values))
        .await?;
    let mut found = Found::default();
    let mut our_lists = HashSet::new();
    for row in rows {
        match row.try_get::<i32>("", "what")? {
            OURS => found.ours.push(K::Row::from_query_result(&row, "")?),
            ELSEWHERE => {
                found.elsewhere.insert(id(&row)?);
            }
            DELETED => {
                let at: NaiveDateTime = row.try_get("", "deleted_at")?;
                found.deleted.insert(id(&row)?, at);
            }
            _ => {
                our_lists.insert(ShoppingListId::from(id(&row)?));
            }
        }
    }
    Ok((found, our_lists))
}

fn id(row: &QueryResult) -> Result<Uuid, DbErr> {
    row.try_get("", "id")
}

/// One data-modifying statement of a kind's write, given the parameters to bind into.
type Part = Box<dyn FnOnce(&mut Params) -> Result<String, DbErr> + Send>;

/// Writes what `K`'s entries came to: the rows to insert and update (whole), the rows to
/// delete, each deletion recorded, and what hangs from them.
pub async fn write<K: Kind>(txn: &Txn, ctx: &Context, plan: Plan<K>) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let parts = parts::<K>(ctx, plan);
    match backend {
        DbBackend::Postgres => {
            let mut params = Params::new(backend);
            let mut ctes = Vec::with_capacity(parts.len());
            for (n, part) in parts.into_iter().enumerate() {
                ctes.push(format!("w{n} AS ({})", part(&mut params)?));
            }
            if ctes.is_empty() {
                return Ok(());
            }
            let sql = format!("WITH {} SELECT 1", ctes.join(", "));
            txn.execute_raw(Statement::from_sql_and_values(backend, sql, params.values))
                .await?;
        }
        _ => {
            for part in parts {
                let mut params = Params::new(backend);
                let sql = part(&mut params)?;
                txn.execute_raw(Statement::from_sql_and_values(backend, sql, params.values))
                    .await?;
            }
        }
    }
    Ok(())
}

/// The statements of a kind's write, those with nothing to do left out, in an order that
/// records what a delete's cascade takes before the delete (SQLite runs them in turn;
/// PostgreSQL's CTEs all see the rows as they were before the statement).
fn parts<K: Kind>(ctx: &Context, plan: Plan<K>) -> Vec<Part> {
    let Plan {
        inserts,
        updates,
        deletes,
        recorded,
        recreated,
        extras,
    } = plan;
    let (household, now) = (ctx.membership.household_id(), ctx.now);
    let table = table::<K>();
    let mut parts: Vec<Part> = Vec::new();
    if K::KIND == RowKind::ShoppingList && !recorded.is_empty() {
        let lists = recorded.clone();
        parts.push(Box::new(move |params| {
            let lists = ids_from(params, lists);
            let items = format!(
                "SELECT i.\"id\" FROM \"shopping_list_items\" i WHERE i.\"shopping_list_id\" IN ({lists})"
            );
            Ok(record(params, RowKind::ShoppingItem, &items, household, now))
        }));
    }
    if K::KIND == RowKind::ShoppingList && !recreated.is_empty() {
        let lists = recreated.clone();
        parts.push(Box::new(move |params| {
            Ok(format!(
                "DELETE FROM \"shopping_list_items\" WHERE \"shopping_list_id\" IN ({})",
                ids_from(params, lists)
            ))
        }));
    }
    if K::KIND == RowKind::Expense && !recreated.is_empty() {
        let expenses = recreated;
        parts.push(Box::new(move |params| {
            Ok(format!(
                "DELETE FROM \"expense_splits\" WHERE \"expense_id\" IN ({})",
                ids_from(params, expenses)
            ))
        }));
    }
    if !inserts.is_empty() {
        let table = table.clone();
        parts.push(Box::new(move |params| insert(params, &table, &inserts)));
    }
    if !updates.is_empty() {
        let table = table.clone();
        parts.push(Box::new(move |params| {
            let rows = rows_from(params, &updates, "r")?;
            let set: Vec<String> = <K::Entity as EntityTrait>::Column::iter()
                .skip(1)
                .map(|column| {
                    let name = quoted(&column);
                    format!("{name} = r.{name}")
                })
                .collect();
            Ok(format!(
                "UPDATE {table} SET {} FROM {rows} WHERE {table}.\"id\" = r.\"id\"",
                set.join(", ")
            ))
        }));
    }
    if !deletes.is_empty() {
        let table = table.clone();
        parts.push(Box::new(move |params| {
            Ok(format!(
                "DELETE FROM {table} WHERE \"id\" IN ({})",
                ids_from(params, deletes)
            ))
        }));
    }
    if !recorded.is_empty() {
        parts.push(Box::new(move |params| {
            let ids = ids_from(params, recorded);
            Ok(record(params, K::KIND, &ids, household, now))
        }));
    }
    let splits = K::splits(extras);
    if !splits.is_empty() {
        let table = format!("\"{}\"", expense_split::Entity.table_name());
        parts.push(Box::new(move |params| insert(params, &table, &splits)));
    }
    parts
}

/// An insert of `rows`, whole, into `table`.
fn insert<M: sea_orm::ModelTrait>(
    params: &mut Params,
    table: &str,
    rows: &[M],
) -> Result<String, DbErr> {
    let columns = column_names::<M::Entity>();
    let rows = rows_from(params, rows, "r")?;
    Ok(format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {rows}"
    ))
}

/// Records the rows of `kind` that `ids` (a select of one column, `id`) names as deleted
/// from `household_id` at `now`.
fn record(
    params: &mut Params,
    kind: RowKind,
    ids: &str,
    household_id: HouseholdId,
    now: NaiveDateTime,
) -> String {
    let household = params.bind(household_id.uuid());
    let rows = format!("SELECT i.\"id\", {household} AS \"household_id\" FROM ({ids}) i");
    deletions::record_sql(params, kind, &rows, now)
}
