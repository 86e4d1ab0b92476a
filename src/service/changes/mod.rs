//! The change log: what a write did to the rows the phones keep, recorded in the writing
//! transaction by every path that writes (REST, sync, a cascade), so that it exists if and
//! only if the change committed. Sync reads it to tell phones what to drop; it sits below
//! every area (todos, shopping, expenses, households, sync), which all write to it.

pub mod deletions;

use std::fmt;

/// The kinds of row the app syncs, in the order they are applied (a list before its items).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKind {
    Todo,
    ShoppingList,
    ShoppingItem,
    Expense,
}

impl RowKind {
    const ALL: [RowKind; 4] = [
        RowKind::Todo,
        RowKind::ShoppingList,
        RowKind::ShoppingItem,
        RowKind::Expense,
    ];

    /// Its name in answers and in the record of deletions.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Todo => "todo",
            RowKind::ShoppingList => "shopping_list",
            RowKind::ShoppingItem => "shopping_item",
            RowKind::Expense => "expense",
        }
    }

    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for RowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
