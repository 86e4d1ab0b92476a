//! The schema's named unique constraints, as the domain's answers: one table, read when a
//! write breaks one, so a rule the schema holds needs no SELECT before its INSERT and two
//! requests at once get the same answer as one after the other. PostgreSQL names the
//! constraint; SQLite names the columns (`UNIQUE constraint failed: t.a, t.b`).

use sea_orm::{DbErr, RuntimeErr, SqlxError};

use super::{ServiceError, households::ALREADY_IN_A_HOUSEHOLD, shopping::CATEGORY_EXISTS};
use crate::db::retry::is_unique_violation;

/// What a broken constraint means to the caller.
#[derive(Clone, Copy)]
enum Meaning {
    /// A rule refuses it: 400, as the old backend answered.
    Refused(&'static str),
    /// It would duplicate what exists: 409.
    Conflict(&'static str),
}

/// PostgreSQL's constraint name, SQLite's column list, and what it means.
const UNIQUE: [(&str, &str, Meaning); 5] = [
    (
        "uq_category_name_household",
        "item_categories.name, item_categories.household_id",
        Meaning::Refused(CATEGORY_EXISTS),
    ),
    (
        "uix_user_household",
        "household_members.user_id, household_members.household_id",
        Meaning::Refused(ALREADY_IN_A_HOUSEHOLD),
    ),
    (
        "ix_users_email",
        "users.email",
        Meaning::Conflict("Another account already uses this email address"),
    ),
    (
        "ix_users_google_id",
        "users.google_id",
        Meaning::Conflict("This Google account is already signed up"),
    ),
    (
        "ix_household_invites_token",
        "household_invites.token",
        Meaning::Conflict("An invite with this token exists already"),
    ),
];

/// A primary key taken already: a client-chosen id (sync) that another row has.
pub(crate) const ID_TAKEN: &str = "id: already taken by another row";

/// The domain's answer for `err`, when it breaks a unique constraint the table knows.
pub(super) fn meaning(err: &DbErr) -> Option<ServiceError> {
    if !is_unique_violation(err) {
        return None;
    }
    let (constraint, message) = match err {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            match sqlx.as_ref() {
                SqlxError::Database(db) => {
                    (db.constraint().map(str::to_owned), db.message().to_owned())
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let named = |name: &str, columns: &str| match &constraint {
        Some(constraint) => constraint == name,
        None => message.ends_with(columns),
    };
    let found = UNIQUE
        .iter()
        .find(|(name, columns, _)| named(name, columns))
        .map(|(_, _, meaning)| *meaning);
    let id_taken = match &constraint {
        Some(constraint) => constraint.ends_with("_pkey"),
        None => message.ends_with(".id"),
    };
    match (found, id_taken) {
        (Some(Meaning::Refused(message)), _) => Some(ServiceError::Refused(message.into())),
        (Some(Meaning::Conflict(message)), _) => Some(ServiceError::Conflict(message.into())),
        (None, true) => Some(ServiceError::Conflict(ID_TAKEN.into())),
        (None, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use entities::item_category;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    use uuid::Uuid;

    use super::*;
    use crate::service::{
        households,
        testing::{memory_db, user},
    };

    fn category(id: Uuid, household_id: Uuid) -> item_category::ActiveModel {
        item_category::ActiveModel {
            id: Set(id),
            name: Set("Dairy".into()),
            icon: Set(None),
            color: Set(None),
            household_id: Set(Some(household_id)),
            created_at: Set(chrono::Utc::now().naive_utc()),
        }
    }

    #[tokio::test]
    async fn a_second_category_of_a_name_in_a_household_is_the_rules_refusal() {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let flat = households::create(&db, olive, "Flat".into())
            .await
            .expect("create");
        category(Uuid::new_v4(), flat.id)
            .insert(db.connection())
            .await
            .expect("first");
        let err = category(Uuid::new_v4(), flat.id)
            .insert(db.connection())
            .await
            .expect_err("a duplicate");
        assert!(
            matches!(meaning(&err), Some(ServiceError::Refused(m)) if m == CATEGORY_EXISTS),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_taken_id_is_a_conflict() {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let flat = households::create(&db, olive, "Flat".into())
            .await
            .expect("create");
        let id = Uuid::new_v4();
        category(id, flat.id)
            .insert(db.connection())
            .await
            .expect("first");
        let mut again = category(id, flat.id);
        again.name = Set("Bakery".into());
        let err = again
            .insert(db.connection())
            .await
            .expect_err("the same id");
        assert!(
            matches!(meaning(&err), Some(ServiceError::Conflict(m)) if m == ID_TAKEN),
            "{err}"
        );
    }

    #[test]
    fn other_errors_mean_nothing_here() {
        assert!(meaning(&DbErr::Custom("boom".into())).is_none());
    }
}
