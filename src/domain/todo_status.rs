//! When a todo counts as completed.

use chrono::NaiveDateTime;
use entities::enums::TodoStatus;

/// `completed_at` after a status change: set when the todo becomes completed (kept if it
/// already was), cleared when it leaves completed.
pub fn completed_at(
    new_status: TodoStatus,
    current: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    match new_status {
        TodoStatus::Completed => Some(current.unwrap_or(now)),
        TodoStatus::Pending | TodoStatus::InProgress => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completing_sets_once_and_reopening_clears() {
        let (t1, t2) = (
            NaiveDateTime::parse_from_str("2030-01-01 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap(),
            NaiveDateTime::parse_from_str("2030-01-02 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap(),
        );
        assert_eq!(completed_at(TodoStatus::Completed, None, t1), Some(t1));
        assert_eq!(completed_at(TodoStatus::Completed, Some(t1), t2), Some(t1));
        assert_eq!(completed_at(TodoStatus::Pending, Some(t1), t2), None);
        assert_eq!(completed_at(TodoStatus::InProgress, None, t2), None);
    }
}
