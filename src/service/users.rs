//! Users: signing in with what Google vouches for, the profile, and who a token names.

use chrono::Utc;
use entities::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    sea_query::OnConflict,
};
use uuid::Uuid;

use super::ServiceResult;
use crate::{db::Db, domain::ids::UserId};

/// Who Google says signed in.
pub struct GoogleProfile {
    /// Google's stable account id.
    pub sub: String,
    pub email: String,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// What a token's user id comes to.
pub enum TokenUser {
    Active(user::Model),
    Inactive,
    /// No such user (deleted since the token was issued).
    Unknown,
}

/// The user `user_id`, as a token naming them comes to.
pub async fn for_token(db: &Db, user_id: UserId) -> ServiceResult<TokenUser> {
    let found = db
        .read(|conn| async move { user::Entity::find_by_id(user_id.uuid()).one(&conn).await })
        .await?;
    Ok(match found {
        None => TokenUser::Unknown,
        Some(user) if !user.is_active => TokenUser::Inactive,
        Some(user) => TokenUser::Active(user),
    })
}

/// The user of Google account `profile.sub`, created on their first sign-in, with their
/// email, name and picture brought up to date; unwritten when nothing changed.
pub async fn sign_in(db: &Db, profile: GoogleProfile) -> ServiceResult<user::Model> {
    let google_id = profile.sub.clone();
    let existing = db
        .read(|conn| {
            let google_id = google_id.clone();
            async move {
                user::Entity::find()
                    .filter(user::Column::GoogleId.eq(google_id))
                    .one(&conn)
                    .await
            }
        })
        .await?;
    let full_name = profile.name.unwrap_or_default();
    let existing = match existing {
        Some(user)
            if user.email == profile.email
                && user.full_name == full_name
                && user.profile_picture_url == profile.picture =>
        {
            return Ok(user);
        }
        other => other,
    };
    let (email, picture) = (profile.email, profile.picture);
    let now = Utc::now().naive_utc();
    db.write(|txn| {
        Box::pin(async move {
            let saved = match existing {
                Some(user) => {
                    let mut changed = user.into_active_model();
                    changed.email = Set(email);
                    changed.full_name = Set(full_name);
                    changed.profile_picture_url = Set(picture);
                    changed.updated_at = Set(now);
                    changed.update(txn).await?
                }
                // A first sign-in racing another for the same account updates instead of failing.
                None => {
                    let new = user::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        email: Set(email),
                        full_name: Set(full_name),
                        google_id: Set(google_id),
                        profile_picture_url: Set(picture),
                        is_active: Set(true),
                        created_at: Set(now),
                        updated_at: Set(now),
                    };
                    user::Entity::insert(new)
                        .on_conflict(
                            OnConflict::column(user::Column::GoogleId)
                                .update_columns([
                                    user::Column::Email,
                                    user::Column::FullName,
                                    user::Column::ProfilePictureUrl,
                                    user::Column::UpdatedAt,
                                ])
                                .to_owned(),
                        )
                        .exec_with_returning(txn)
                        .await?
                }
            };
            Ok(saved)
        })
    })
    .await
}

/// `user` with a new name or picture, where given; unwritten when neither is.
pub async fn update_profile(
    db: &Db,
    user: user::Model,
    full_name: Option<String>,
    picture: Option<String>,
) -> ServiceResult<user::Model> {
    if full_name.is_none() && picture.is_none() {
        return Ok(user);
    }
    let mut changed = user.into_active_model();
    if let Some(full_name) = full_name {
        changed.full_name = Set(full_name);
    }
    if let Some(url) = picture {
        changed.profile_picture_url = Set(Some(url));
    }
    changed.updated_at = Set(Utc::now().naive_utc());
    db.write(|txn| Box::pin(async move { Ok(changed.update(txn).await?) }))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::memory_db;

    fn profile(name: &str) -> GoogleProfile {
        GoogleProfile {
            sub: "google-1".into(),
            email: "olive@example.com".into(),
            name: Some(name.into()),
            picture: None,
        }
    }

    #[tokio::test]
    async fn a_second_sign_in_is_the_same_user_with_the_new_name() {
        let db = memory_db().await;
        let first = sign_in(&db, profile("Olive")).await.expect("first");
        let second = sign_in(&db, profile("Olive Oyl")).await.expect("second");
        assert_eq!(first.id, second.id);
        assert_eq!(second.full_name, "Olive Oyl");
    }

    #[tokio::test]
    async fn an_inactive_user_is_told_apart_from_an_unknown_one() {
        let db = memory_db().await;
        let olive = sign_in(&db, profile("Olive")).await.expect("sign in");
        let mut inactive = olive.clone().into_active_model();
        inactive.is_active = Set(false);
        inactive.update(db.connection()).await.expect("deactivate");
        assert!(matches!(
            for_token(&db, olive.id.into()).await,
            Ok(TokenUser::Inactive)
        ));
        assert!(matches!(
            for_token(&db, UserId::from(Uuid::new_v4())).await,
            Ok(TokenUser::Unknown)
        ));
    }

    #[tokio::test]
    async fn a_profile_update_without_changes_keeps_updated_at() {
        let db = memory_db().await;
        let olive = sign_in(&db, profile("Olive")).await.expect("sign in");
        let same = update_profile(&db, olive.clone(), None, None)
            .await
            .expect("update");
        assert_eq!(same.updated_at, olive.updated_at);
        let renamed = update_profile(&db, olive, Some("O".into()), None)
            .await
            .expect("update");
        assert_eq!(renamed.full_name, "O");
    }
}
