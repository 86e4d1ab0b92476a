//! Names and emails of the people a response mentions, fetched in one query.

use std::collections::HashMap;

use entities::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{error::ApiResult, state::AppState};

/// The users with these ids, by id.
pub async fn users_by_id(
    state: &AppState,
    ids: impl IntoIterator<Item = Uuid>,
) -> ApiResult<HashMap<Uuid, user::Model>> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let users = state
        .db
        .read(|conn| {
            let ids = ids.clone();
            async move {
                user::Entity::find()
                    .filter(user::Column::Id.is_in(ids))
                    .all(&conn)
                    .await
            }
        })
        .await?;
    Ok(users.into_iter().map(|u| (u.id, u)).collect())
}
