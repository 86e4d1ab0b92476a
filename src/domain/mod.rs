//! Rules that are not HTTP: they know entities and money, nothing of poem.

pub mod splits;
pub mod todo_status;
