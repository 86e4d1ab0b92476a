//! The ids of the service's rows, each a type of its own, so that a function taking a
//! household and a user cannot be handed them the other way round. The wire and the
//! entities keep bare UUIDs; the API turns them into these as it calls a service function,
//! and a query turns them back (`uuid()`) as it binds them.
//!
//! A user's analytics, over one of their households, asked for as it should be:
//!
//! ```no_run
//! use flatmates::{
//!     db::Db,
//!     domain::ids::{HouseholdId, UserId},
//!     service::{access::Caller, expenses},
//! };
//!
//! async fn analytics_of(db: &Db, caller: Caller, user: UserId, household: HouseholdId) {
//!     let _ = expenses::analytics(db, caller, user, Some(household), 1).await;
//! }
//! ```
//!
//! and with the user and the household swapped, which does not compile:
//!
//! ```compile_fail
//! use flatmates::{
//!     db::Db,
//!     domain::ids::{HouseholdId, UserId},
//!     service::{access::Caller, expenses},
//! };
//!
//! async fn analytics_of(db: &Db, caller: Caller, user: UserId, household: HouseholdId) {
//!     let _ = expenses::analytics(db, caller, household, Some(user), 1).await;
//! }
//! ```

use std::fmt;

use uuid::Uuid;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The bare UUID, for the wire and the database.
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// A user (`users.id`).
    UserId;
    /// A household (`households.id`).
    HouseholdId;
    /// A membership of a household (`household_members.id`).
    MemberId;
    /// An invite to a household (`household_invites.id`).
    InviteId;
    /// A todo (`todos.id`).
    TodoId;
    /// A shopping list (`shopping_lists.id`).
    ShoppingListId;
    /// An item of a shopping list (`shopping_list_items.id`).
    ShoppingItemId;
    /// An expense (`expenses.id`).
    ExpenseId;
    /// A split of an expense (`expense_splits.id`).
    SplitId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_uuid_both_ways_and_in_text() {
        let uuid = Uuid::new_v4();
        let household = HouseholdId::from(uuid);
        assert_eq!(household.uuid(), uuid);
        assert_eq!(Uuid::from(household), uuid);
        assert_eq!(household.to_string(), uuid.to_string());
    }
}
