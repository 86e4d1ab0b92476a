//! SeaORM entities for the ten tables of the Flatmates schema, as the old backend's
//! Alembic migrations built them. Nothing here knows about HTTP.

pub mod enums;
pub mod expense;
pub mod expense_split;
pub mod household;
pub mod household_invite;
pub mod household_member;
pub mod item_category;
pub mod money;
pub mod shopping_list;
pub mod shopping_list_item;
pub mod todo;
pub mod user;

pub use sea_orm;
