//! The change feed: every row of a household changed after the client's last sync, and
//! every row deleted since, for the app to bring its copy up to date; or everything, when
//! the client has no copy or its last sync is older than deletions are kept.
//!
//! It is one statement, so one round trip and one snapshot (an expense is never read
//! without the splits it had, nor an item with a list already gone): a union of the kinds,
//! each branch filling its own columns (named with the kind's prefix) and leaving the
//! others NULL. Its rows are read as they arrive, never all held as the driver's rows. The
//! statement also checks the caller's membership: a member's answer has one row marking it,
//! anyone else's has none.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use entities::{expense, expense_split, shopping_list, shopping_list_item, todo, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, QueryResult, Statement,
};
use uuid::Uuid;

use crate::{
    db::{
        Db,
        bulk::{Params, postgres_type},
    },
    domain::ids::HouseholdId,
    service::{
        ServiceError, ServiceResult,
        access::{Caller, NOT_A_MEMBER, member_sql},
        changes::{RowKind, deletions::RETENTION},
        expenses::{Expense, ExpenseDetail, Split},
    },
};

/// A household's rows changed after a moment.
pub struct Feed {
    /// Every row of the household, not only changes: the client replaces its copy.
    pub complete: bool,
    pub todos: Vec<todo::Model>,
    pub shopping_lists: Vec<shopping_list::Model>,
    pub shopping_items: Vec<shopping_list_item::Model>,
    /// Each with all its splits.
    pub expenses: Vec<ExpenseDetail>,
    /// The rows deleted after the moment; none when `complete`.
    pub deleted: Deleted,
}

/// The ids of a household's rows deleted after a moment, per kind.
#[derive(Default)]
pub struct Deleted {
    pub todos: Vec<Uuid>,
    pub shopping_lists: Vec<Uuid>,
    pub shopping_items: Vec<Uuid>,
    pub expenses: Vec<Uuid>,
}

/// The branches of the union, in the order they are answered.
const MEMBER: i32 = 0;
const TODO: i32 = 1;
const LIST: i32 = 2;
const ITEM: i32 = 3;
const EXPENSE: i32 = 4;
const SPLIT: i32 = 5;
const PERSON: i32 = 6;
const DELETION: i32 = 7;

/// A kind's columns, as [`columns_of`] lists them.
type ColumnsOf = fn() -> Columns;

/// The column prefix of each kind's branch.
const PREFIXES: [(&str, ColumnsOf); 6] = [
    ("t_", columns_of::<todo::Entity>),
    ("l_", columns_of::<shopping_list::Entity>),
    ("i_", columns_of::<shopping_list_item::Entity>),
    ("e_", columns_of::<expense::Entity>),
    ("s_", columns_of::<expense_split::Entity>),
    ("u_", columns_of::<user::Entity>),
];

/// An entity's columns: name, PostgreSQL type as selected, and whether it is an enum
/// (selected as its label).
type Columns = Vec<(String, String, bool)>;

fn columns_of<E: EntityTrait>() -> Columns {
    E::Column::iter()
        .map(|column| {
            let enumerated = column.enum_type_name().is_some();
            let ty = if enumerated {
                "text".to_owned()
            } else {
                postgres_type(&column)
            };
            (column.as_str().to_owned(), ty, enumerated)
        })
        .collect()
}

/// The select list of a branch: `what`, then every kind's columns, `table`'s own from it
/// for the kind at `own` (an index in [`PREFIXES`]), the others NULL of their type; then
/// the deletion's kind and id (from `deletion` for that branch).
fn branch(what: i32, own: Option<(usize, &str)>, deletion: Option<&str>) -> String {
    let mut list = vec![format!("{what} AS what")];
    for (at, (prefix, columns)) in PREFIXES.iter().enumerate() {
        for (name, ty, enumerated) in columns() {
            let alias = format!("\"{prefix}{name}\"");
            list.push(match own {
                Some((kind, table)) if kind == at && enumerated => {
                    format!("CAST({table}.\"{name}\" AS text) AS {alias}")
                }
                Some((kind, table)) if kind == at => format!("{table}.\"{name}\" AS {alias}"),
                _ => format!("CAST(NULL AS {ty}) AS {alias}"),
            });
        }
    }
    match deletion {
        Some(table) => {
            list.push(format!("{table}.\"kind\" AS d_kind"));
            list.push(format!("{table}.\"row_id\" AS d_row_id"));
        }
        None => {
            list.push("CAST(NULL AS text) AS d_kind".to_owned());
            list.push("CAST(NULL AS uuid) AS d_row_id".to_owned());
        }
    }
    list.join(", ")
}

/// The rows of `household_id` changed after `last_sync` (none: the client has never
/// synced), for a member of it; forbidden for anyone else, whatever ran before (its one
/// statement checks the caller's membership).
pub async fn changed_since(
    db: &Db,
    caller: Caller,
    household_id: HouseholdId,
    last_sync: Option<NaiveDateTime>,
) -> ServiceResult<Feed> {
    let kept_from = Utc::now().naive_utc() - RETENTION;
    let (complete, after) = match last_sync {
        Some(at) if at >= kept_from => (false, at),
        _ => (true, DateTime::UNIX_EPOCH.naive_utc()),
    };
    let read = db
        .read(|conn| async move {
            let backend = conn.get_database_backend();
            let statement = statement(backend, caller, household_id, after, complete);
            let mut read = Read::default();
            conn.for_each_row(statement, |row| read.row(&row)).await?;
            Ok(read)
        })
        .await?;
    if !read.member {
        return Err(ServiceError::Forbidden(NOT_A_MEMBER.into()));
    }
    Ok(read.into_feed(complete))
}

fn statement(
    backend: DbBackend,
    caller: Caller,
    household_id: HouseholdId,
    after: NaiveDateTime,
    complete: bool,
) -> Statement {
    let mut params = Params::new(backend);
    let household = params.bind(household_id.uuid());
    let member = member_sql(&mut params, &household, caller.user_id());
    let after = params.bind(after);
    let complete = params.bind(complete);
    let changed_expenses = format!(
        "SELECT e.\"id\" FROM \"expenses\" e \
         WHERE e.\"household_id\" = {household} AND e.\"updated_at\" > {after}"
    );
    let updated = |table: &str| {
        format!(
            "{table}.\"household_id\" = {household} AND {table}.\"updated_at\" > {after} AND {member}"
        )
    };
    let sql = [
        format!("SELECT {} WHERE {member}", branch(MEMBER, None, None)),
        format!(
            "SELECT {} FROM \"todos\" t WHERE {}",
            branch(TODO, Some((0, "t")), None),
            updated("t")
        ),
        format!(
            "SELECT {} FROM \"shopping_lists\" l WHERE {}",
            branch(LIST, Some((1, "l")), None),
            updated("l")
        ),
        format!(
            "SELECT {} FROM \"shopping_list_items\" i \
             JOIN \"shopping_lists\" il ON il.\"id\" = i.\"shopping_list_id\" \
             WHERE il.\"household_id\" = {household} AND i.\"updated_at\" > {after} AND {member}",
            branch(ITEM, Some((2, "i")), None)
        ),
        format!(
            "SELECT {} FROM \"expenses\" e WHERE {}",
            branch(EXPENSE, Some((3, "e")), None),
            updated("e")
        ),
        format!(
            "SELECT {} FROM \"expense_splits\" s \
             WHERE s.\"expense_id\" IN ({changed_expenses}) AND {member}",
            branch(SPLIT, Some((4, "s")), None)
        ),
        format!(
            "SELECT {} FROM \"users\" u WHERE u.\"id\" IN (\
               SELECT e.\"created_by\" FROM \"expenses\" e WHERE e.\"id\" IN ({changed_expenses}) \
               UNION SELECT s.\"user_id\" FROM \"expense_splits\" s \
               WHERE s.\"expense_id\" IN ({changed_expenses})) AND {member}",
            branch(PERSON, Some((5, "u")), None)
        ),
        format!(
            "SELECT {} FROM \"sync_deletions\" d WHERE d.\"household_id\" = {household} \
             AND d.\"deleted_at\" > {after} AND NOT {complete} AND {member}",
            branch(DELETION, None, Some("d"))
        ),
    ]
    .join(" UNION ALL ");
    // Items oldest first, splits oldest first (as an expense's answer lists them).
    let sql = format!(
        "{sql} ORDER BY what, {item_created}, {split_created}, {split_id}",
        item_created = quoted_alias("i_", "created_at"),
        split_created = quoted_alias("s_", "created_at"),
        split_id = quoted_alias("s_", "id"),
    );
    Statement::from_sql_and_values(backend, sql, params.values)
}

fn quoted_alias(prefix: &str, column: &str) -> String {
    format!("\"{prefix}{column}\"")
}

/// The feed as its rows arrive.
#[derive(Default)]
struct Read {
    member: bool,
    todos: Vec<todo::Model>,
    lists: Vec<shopping_list::Model>,
    items: Vec<shopping_list_item::Model>,
    expenses: Vec<expense::Model>,
    splits: Vec<expense_split::Model>,
    people: HashMap<Uuid, user::Model>,
    deleted: Deleted,
}

impl Read {
    fn row(&mut self, row: &QueryResult) -> Result<(), DbErr> {
        match row.try_get::<i32>("", "what")? {
            MEMBER => self.member = true,
            TODO => self.todos.push(todo::Model::from_query_result(row, "t_")?),
            LIST => self
                .lists
                .push(shopping_list::Model::from_query_result(row, "l_")?),
            ITEM => self
                .items
                .push(shopping_list_item::Model::from_query_result(row, "i_")?),
            EXPENSE => self
                .expenses
                .push(expense::Model::from_query_result(row, "e_")?),
            SPLIT => self
                .splits
                .push(expense_split::Model::from_query_result(row, "s_")?),
            PERSON => {
                let person = user::Model::from_query_result(row, "u_")?;
                self.people.insert(person.id, person);
            }
            DELETION => {
                let kind: String = row.try_get("", "d_kind")?;
                let id: Uuid = row.try_get("", "d_row_id")?;
                let ids = match RowKind::named(&kind) {
                    Some(RowKind::Todo) => &mut self.deleted.todos,
                    Some(RowKind::ShoppingList) => &mut self.deleted.shopping_lists,
                    Some(RowKind::ShoppingItem) => &mut self.deleted.shopping_items,
                    Some(RowKind::Expense) => &mut self.deleted.expenses,
                    None => return Ok(()),
                };
                ids.push(id);
            }
            other => {
                return Err(DbErr::Custom(format!(
                    "a feed row of no known kind: {other}"
                )));
            }
        }
        Ok(())
    }

    fn into_feed(self, complete: bool) -> Feed {
        let Read {
            todos,
            lists,
            items,
            expenses,
            splits,
            people,
            deleted,
            ..
        } = self;
        let mut by_expense: HashMap<Uuid, Vec<Split>> = HashMap::new();
        for model in splits {
            by_expense.entry(model.expense_id).or_default().push(Split {
                user: people.get(&model.user_id).cloned(),
                model,
            });
        }
        let expenses = expenses
            .into_iter()
            .map(|model| ExpenseDetail {
                splits: by_expense.remove(&model.id).unwrap_or_default(),
                expense: Expense {
                    creator: people.get(&model.created_by).cloned(),
                    model,
                },
            })
            .collect();
        Feed {
            complete,
            todos,
            shopping_lists: lists,
            shopping_items: items,
            expenses,
            deleted,
        }
    }
}
