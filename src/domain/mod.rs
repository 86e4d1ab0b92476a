//! Rules that are not HTTP: they know entities and money, nothing of poem.

pub mod ids;
pub mod splits;
pub mod todo_status;
