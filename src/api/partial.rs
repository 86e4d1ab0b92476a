//! Partial updates: a field left out leaves the column as it is, an explicit `null` clears
//! it, and a value sets it.

use poem_openapi::types::MaybeUndefined;
use sea_orm::ActiveValue::{self, Set};

/// Applies one nullable field of a partial update to its column.
pub fn apply<T, V>(
    column: &mut ActiveValue<Option<V>>,
    update: MaybeUndefined<T>,
    convert: impl FnOnce(T) -> V,
) where
    Option<V>: Into<sea_orm::Value>,
{
    match update {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *column = Set(None),
        MaybeUndefined::Value(value) => *column = Set(Some(convert(value))),
    }
}
