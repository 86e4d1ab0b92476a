//! Rows and ids by the set, as one JSON parameter: a statement that writes or reads any
//! number of rows keeps one text (so it is prepared once per connection) and costs one
//! round trip. PostgreSQL reads the rows with `jsonb_to_recordset`, SQLite with `json_each`;
//! each column is written into the JSON as its driver would bind it, so what lands in the
//! table is what a single-row statement of SeaORM's would have stored.

use std::fmt::Write as _;

use chrono::NaiveDateTime;
use sea_orm::{
    ColumnTrait, ColumnType, DbBackend, DbErr, EntityTrait, Iterable, ModelTrait, Value,
    sea_query::Iden,
};
use serde_json::Value as Json;
use uuid::Uuid;

/// A statement's parameters, handed out in order as `backend` numbers them.
pub struct Params {
    backend: DbBackend,
    pub values: Vec<Value>,
}

impl Params {
    pub fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// The placeholder of `value`, the next parameter.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => format!("?{}", self.values.len()),
        }
    }
}

/// A column's name, quoted.
pub fn quoted(column: &impl Iden) -> String {
    format!("\"{}\"", column.to_string())
}

/// `E`'s columns in declaration order, quoted, comma-separated.
pub fn column_names<E: EntityTrait>() -> String {
    E::Column::iter()
        .map(|column| quoted(&column))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `E`'s columns of the table (or alias) `table`, in declaration order, named as the
/// columns are, enums selected as their labels on PostgreSQL (as SeaORM selects them, so
/// that a model reads from them either way).
pub fn select_list<E: EntityTrait>(backend: DbBackend, table: &str) -> String {
    E::Column::iter()
        .map(|column| {
            let name = quoted(&column);
            match (backend, column.enum_type_name()) {
                (DbBackend::Postgres, Some(_)) => {
                    format!("CAST({table}.{name} AS text) AS {name}")
                }
                _ => format!("{table}.{name}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NULL`s standing in for `E`'s columns in a branch of a union that reads another kind.
pub fn nulls<E: EntityTrait>() -> String {
    vec!["NULL"; E::Column::iter().count()].join(", ")
}

/// `models` as a table aliased `alias`, with `E`'s columns, each of its type, bound as one
/// JSON parameter: `jsonb_to_recordset(...) AS r(...)`, or a select of `json_each`.
pub fn rows_from<M: ModelTrait>(
    params: &mut Params,
    models: &[M],
    alias: &str,
) -> Result<String, DbErr> {
    let backend = params.backend;
    let p = params.bind(rows_json(backend, models)?);
    let columns = <M::Entity as EntityTrait>::Column::iter();
    Ok(match backend {
        DbBackend::Postgres => {
            let columns: Vec<String> = columns
                .map(|column| format!("{} {}", quoted(&column), postgres_type(&column)))
                .collect();
            format!(
                "jsonb_to_recordset({p}::jsonb) AS {alias}({})",
                columns.join(", ")
            )
        }
        _ => {
            let columns: Vec<String> = columns
                .map(|column| {
                    let name = column.to_string();
                    let value = format!("json_extract(value, '$.{name}')");
                    let value = match column.def().get_column_type() {
                        ColumnType::Uuid => sqlite_uuid(&value),
                        _ => value,
                    };
                    format!("{value} AS \"{name}\"")
                })
                .collect();
            format!(
                "(SELECT {} FROM json_each({p})) AS {alias}",
                columns.join(", ")
            )
        }
    })
}

/// A select of `ids`, bound as one JSON parameter, in one column `id`.
pub fn ids_from(params: &mut Params, ids: impl IntoIterator<Item = Uuid>) -> String {
    let p = params.bind(ids_json(ids));
    match params.backend {
        DbBackend::Postgres => {
            format!("SELECT (jsonb_array_elements_text({p}::jsonb))::uuid AS id")
        }
        _ => format!("SELECT {} AS id FROM json_each({p})", sqlite_uuid("value")),
    }
}

/// SQLite keeps a UUID as its 16 bytes.
fn sqlite_uuid(text: &str) -> String {
    format!("unhex(replace({text}, '-', ''))")
}

/// The PostgreSQL type of `column`'s values (an enum's own type).
pub fn postgres_type(column: &impl ColumnTrait) -> String {
    if let Some(name) = column.enum_type_name() {
        return name.to_owned();
    }
    match column.def().get_column_type() {
        ColumnType::Uuid => "uuid",
        ColumnType::Boolean => "boolean",
        ColumnType::Double | ColumnType::Float => "float8",
        ColumnType::SmallInteger => "int2",
        ColumnType::Integer => "int4",
        ColumnType::BigInteger => "int8",
        ColumnType::Decimal(_) | ColumnType::Money(_) => "numeric",
        ColumnType::DateTime | ColumnType::Timestamp => "timestamp",
        _ => "text",
    }
    .to_owned()
}

/// `models` as the JSON array [`rows_from`] reads.
fn rows_json<M: ModelTrait>(backend: DbBackend, models: &[M]) -> Result<String, DbErr> {
    let mut rows = Vec::with_capacity(models.len());
    for model in models {
        let mut row = serde_json::Map::new();
        for column in <M::Entity as EntityTrait>::Column::iter() {
            row.insert(column.to_string(), json_of(backend, model.get(column))?);
        }
        rows.push(Json::Object(row));
    }
    Ok(Json::Array(rows).to_string())
}

/// `ids` as the JSON array [`ids_from`] reads.
fn ids_json(ids: impl IntoIterator<Item = Uuid>) -> String {
    let mut text = String::from("[");
    for (n, id) in ids.into_iter().enumerate() {
        if n > 0 {
            text.push(',');
        }
        // A UUID's text needs no escaping.
        let _ = write!(text, "\"{id}\"");
    }
    text.push(']');
    text
}

/// A column's value as its driver binds it: a moment as SQLite's driver writes its text
/// (`%F %T%.f`, compared as text there), an amount as its decimal text.
fn json_of(backend: DbBackend, value: Value) -> Result<Json, DbErr> {
    Ok(match value {
        Value::Uuid(id) => id.map_or(Json::Null, |id| Json::String(id.to_string())),
        Value::String(text) => text.map_or(Json::Null, Json::String),
        Value::Bool(flag) => flag.map_or(Json::Null, Json::Bool),
        Value::Int(n) => n.map_or(Json::Null, Json::from),
        Value::SmallInt(n) => n.map_or(Json::Null, Json::from),
        Value::BigInt(n) => n.map_or(Json::Null, Json::from),
        Value::Double(n) => n.map_or(Json::Null, Json::from),
        Value::Float(n) => n.map_or(Json::Null, Json::from),
        Value::Decimal(amount) => amount.map_or(Json::Null, |d| Json::String(d.to_string())),
        Value::ChronoDateTime(at) => at.map_or(Json::Null, |at| Json::String(moment(backend, at))),
        other => {
            return Err(DbErr::Custom(format!(
                "a column value the set statements cannot write: {other:?}"
            )));
        }
    })
}

fn moment(backend: DbBackend, at: NaiveDateTime) -> String {
    match backend {
        DbBackend::Postgres => at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        _ => at.format("%F %T%.f").to_string(),
    }
}
