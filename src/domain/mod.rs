//! Rules that are not HTTP: they know entities and money, nothing of poem.

pub mod ids;
pub mod money;
pub mod splits;
pub mod text;
pub mod todo_status;
