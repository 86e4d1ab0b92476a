//! Partial updates: a field left out leaves the column as it is, an explicit `null` clears
//! it, and a value sets it.

use sea_orm::ActiveValue::{self, Set};

/// One nullable field of a partial update.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// Applies the field to its column.
    pub fn apply(self, column: &mut ActiveValue<Option<T>>)
    where
        Option<T>: Into<sea_orm::Value>,
    {
        match self {
            Patch::Keep => {}
            Patch::Clear => *column = Set(None),
            Patch::Set(value) => *column = Set(Some(value)),
        }
    }

    /// The value it sets, if it sets one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }
}
