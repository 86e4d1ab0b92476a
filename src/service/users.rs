//! Users: signing in with what Google vouches for, the profile, and who a token names.

use chrono::{NaiveDateTime, Utc};
use entities::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, sea_query::OnConflict,
};
use uuid::Uuid;

use super::{ServiceResult, access::Caller, locks::hold_user};
use crate::{
    db::{Db, Txn},
    domain::ids::UserId,
};

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
        // An erased account signs nobody in, as a deleted one would not.
        Some(user) if is_erased(&user) => TokenUser::Unknown,
        Some(user) if !user.is_active => TokenUser::Inactive,
        Some(user) => TokenUser::Active(user),
    })
}

/// What an erased account's email and Google id become: unique (its id is), not an
/// address, and no Google account's id.
pub(super) fn erased_stand_in(user_id: UserId) -> String {
    format!("deleted:{user_id}")
}

fn is_erased(user: &user::Model) -> bool {
    !user.is_active && user.google_id == erased_stand_in(user.id.into())
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
    if let Some(user) = existing
        && user.email == profile.email
        && user.full_name == full_name
        && user.profile_picture_url == profile.picture
    {
        return Ok(user);
    }
    let (email, picture) = (profile.email, profile.picture);
    let now = Utc::now().naive_utc();
    // One upsert whether or not the account was found above: a first sign-in racing
    // another for the same account updates instead of failing, and an account erased
    // since the read (its Google id replaced) is not written to: a new one is made.
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
    db.write(|txn| {
        Box::pin(async move {
            Ok(user::Entity::insert(new)
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
                .await?)
        })
    })
    .await
}

/// What `PATCH /auth/me` may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct ProfileChanges {
    pub full_name: Option<String>,
    pub picture: Option<String>,
    pub ai_features: Option<bool>,
}

/// The caller's account as `GET /auth/me` answers it.
pub struct Profile {
    pub user: user::Model,
    /// Whether AI features may use their household's data (on unless they turned it off).
    pub ai_features: bool,
}

/// `user` with the changes made; unwritten when there are none. An account erased since
/// the request was signed in is refused, not brought back.
pub async fn update_profile(
    db: &Db,
    user: user::Model,
    changes: ProfileChanges,
) -> ServiceResult<Profile> {
    let user_id = UserId::from(user.id);
    let ProfileChanges {
        full_name,
        picture,
        ai_features,
    } = changes;
    if full_name.is_none() && picture.is_none() && ai_features.is_none() {
        let ai_features = db
            .read(|conn| async move { read_ai_choice(&conn, user_id).await })
            .await?;
        return Ok(Profile { user, ai_features });
    }
    let now = Utc::now().naive_utc();
    db.write(|txn| {
        Box::pin(async move {
            // Held first: an account erased since the request was signed in is refused,
            // not written back.
            let held = hold_user(txn, user_id).await?;
            let user = if full_name.is_none() && picture.is_none() {
                held
            } else {
                let mut changed = user.into_active_model();
                if let Some(full_name) = full_name {
                    changed.full_name = Set(full_name);
                }
                if let Some(url) = picture {
                    changed.profile_picture_url = Set(Some(url));
                }
                changed.updated_at = Set(now);
                changed.update(txn).await?
            };
            let ai_features = match ai_features {
                Some(on) => {
                    choose_ai(txn, user_id, on, now).await?;
                    on
                }
                None => read_ai_choice(txn, user_id).await?,
            };
            Ok(Profile { user, ai_features })
        })
    })
    .await
}

pub mod ai_preference {
    use sea_orm::entity::prelude::*;

    /// A user's choice about AI features; no row: on.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "ai_preferences")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub ai_features: bool,
        pub updated_at: DateTime,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Whether the caller lets AI features use their household's data.
pub async fn ai_features(db: &Db, caller: Caller) -> ServiceResult<bool> {
    let user_id = caller.user_id();
    Ok(db
        .read(|conn| async move { read_ai_choice(&conn, user_id).await })
        .await?)
}

/// `user_id`'s AI choice, read on a connection or transaction a caller already holds (on
/// unless they turned it off).
pub(super) async fn read_ai_choice<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
) -> Result<bool, DbErr> {
    Ok(ai_preference::Entity::find_by_id(user_id.uuid())
        .one(conn)
        .await?
        .is_none_or(|choice| choice.ai_features))
}

async fn choose_ai(txn: &Txn, user_id: UserId, on: bool, now: NaiveDateTime) -> ServiceResult<()> {
    ai_preference::Entity::insert(ai_preference::ActiveModel {
        user_id: Set(user_id.uuid()),
        ai_features: Set(on),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(ai_preference::Column::UserId)
            .update_columns([
                ai_preference::Column::AiFeatures,
                ai_preference::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(txn)
    .await?;
    Ok(())
}

/// Drops `user_id`'s AI choice (their account is being erased).
pub(super) async fn forget_ai_choice(txn: &Txn, user_id: UserId) -> ServiceResult<()> {
    ai_preference::Entity::delete_by_id(user_id.uuid())
        .exec(txn)
        .await?;
    Ok(())
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
        let same = update_profile(&db, olive.clone(), ProfileChanges::default())
            .await
            .expect("update");
        assert_eq!(same.user.updated_at, olive.updated_at);
        assert!(same.ai_features);
        let renamed = update_profile(
            &db,
            olive,
            ProfileChanges {
                full_name: Some("O".into()),
                ..ProfileChanges::default()
            },
        )
        .await
        .expect("update");
        assert_eq!(renamed.user.full_name, "O");
    }
}
