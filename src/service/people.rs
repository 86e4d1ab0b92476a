//! Names and emails of the people an answer mentions, fetched in one query.

use std::collections::HashMap;

use entities::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::ServiceResult;
use crate::db::Db;

/// The people an answer mentions, by id.
#[derive(Debug, Default)]
pub struct People(HashMap<Uuid, user::Model>);

impl People {
    /// The users with these ids.
    pub async fn load(db: &Db, ids: impl IntoIterator<Item = Uuid>) -> ServiceResult<Self> {
        let mut ids: Vec<Uuid> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let users = db
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
        Ok(Self(users.into_iter().map(|u| (u.id, u)).collect()))
    }

    pub fn get(&self, id: Uuid) -> Option<&user::Model> {
        self.0.get(&id)
    }

    /// The name of the person `id` names, if it names one who is still there.
    pub fn name(&self, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| self.get(id)).map(|u| u.full_name.clone())
    }

    pub fn email(&self, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| self.get(id)).map(|u| u.email.clone())
    }
}
