//! `/api/v1/households`: households, their members and invites. One household per user.

use std::collections::HashMap;

use base64::Engine;
use chrono::{Duration, Utc};
use entities::{
    enums::{InviteStatus, MemberRole},
    household, household_invite, household_member, user,
};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags, param::Path, payload::Json};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{choice::Choice, text::Text, timestamp::Timestamp};
use crate::{
    auth::BearerAuth,
    error::{ApiError, ApiResult},
    service::access::{Membership, WhenMissing, membership},
    service::{households, members},
    state::AppState,
};

/// How long an invite stays valid.
const INVITE_VALIDITY_DAYS: i64 = 7;

#[derive(Tags)]
enum Tag {
    /// Households, members and invites.
    Households,
}

#[derive(Object)]
struct HouseholdCreate {
    #[oai(validator(min_length = 1, max_length = 100))]
    name: Text,
}

#[derive(Object)]
struct HouseholdResponse {
    id: Uuid,
    name: String,
    created_by: Uuid,
    created_at: Timestamp,
    #[oai(nullable)]
    member_count: Option<u64>,
}

impl HouseholdResponse {
    fn new(household: household::Model, member_count: u64) -> Self {
        Self {
            id: household.id,
            name: household.name,
            created_by: household.created_by,
            created_at: household.created_at.into(),
            member_count: Some(member_count),
        }
    }
}

#[derive(Object)]
pub struct MemberWithUser {
    /// The membership's id (used by the member routes).
    id: Uuid,
    user_id: Uuid,
    role: Choice<MemberRole>,
    joined_at: Timestamp,
    email: String,
    full_name: String,
    #[oai(nullable)]
    profile_picture_url: Option<String>,
}

impl MemberWithUser {
    fn new(member: household_member::Model, user: user::Model) -> Self {
        Self {
            id: member.id,
            user_id: member.user_id,
            role: Choice(member.role),
            joined_at: member.joined_at.into(),
            email: user.email,
            full_name: user.full_name,
            profile_picture_url: user.profile_picture_url,
        }
    }
}

#[derive(Object)]
struct HouseholdWithMembers {
    id: Uuid,
    name: String,
    created_by: Uuid,
    created_at: Timestamp,
    members: Vec<MemberWithUser>,
}

#[derive(Object)]
struct InviteCreate {
    /// Who may use the invite; without it (or null), anyone holding the token may join.
    #[oai(
        nullable,
        validator(max_length = 255, pattern = r"^[^@\s\u0000]+@[^@\s\u0000]+$")
    )]
    email: Option<Text>,
}

#[derive(Object)]
struct CreatePublicInviteRequest {}

#[derive(Object)]
struct InviteResponse {
    id: Uuid,
    household_id: Uuid,
    #[oai(nullable)]
    email: Option<String>,
    token: String,
    status: Choice<InviteStatus>,
    expires_at: Timestamp,
    created_at: Timestamp,
}

impl From<household_invite::Model> for InviteResponse {
    fn from(invite: household_invite::Model) -> Self {
        Self {
            id: invite.id,
            household_id: invite.household_id,
            email: invite.email,
            token: invite.token,
            status: Choice(invite.status),
            expires_at: invite.expires_at.into(),
            created_at: invite.created_at.into(),
        }
    }
}

#[derive(Object)]
struct JoinHouseholdRequest {
    #[oai(validator(min_length = 1, max_length = 200))]
    token: Text,
}

#[derive(Object)]
struct MemberRoleUpdate {
    role: Choice<MemberRole>,
}

#[derive(ApiResponse)]
enum Created {
    /// Created.
    #[oai(status = 201)]
    Household(Json<HouseholdResponse>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// 32 bytes from the operating system's CSPRNG, URL-safe base64 without padding.
fn invite_token() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| ApiError::internal(&std::io::Error::other(err.to_string())))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

async fn members_with_users(
    state: &AppState,
    household_id: Uuid,
) -> ApiResult<Vec<MemberWithUser>> {
    let rows = state
        .db
        .read(|conn| async move {
            household_member::Entity::find()
                .filter(household_member::Column::HouseholdId.eq(household_id))
                .order_by_asc(household_member::Column::JoinedAt)
                .find_also_related(user::Entity)
                .all(&conn)
                .await
        })
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(member, user)| user.map(|user| MemberWithUser::new(member, user)))
        .collect())
}

fn new_invite(
    household_id: Uuid,
    email: Option<String>,
    created_by: Uuid,
) -> ApiResult<household_invite::ActiveModel> {
    let now = Utc::now().naive_utc();
    Ok(household_invite::ActiveModel {
        id: Set(Uuid::new_v4()),
        household_id: Set(household_id),
        email: Set(email),
        token: Set(invite_token()?),
        status: Set(InviteStatus::Pending),
        expires_at: Set(now + Duration::days(INVITE_VALIDITY_DAYS)),
        created_by: Set(created_by),
        created_at: Set(now),
    })
}

async fn save_invite(
    state: &AppState,
    invite: household_invite::ActiveModel,
) -> ApiResult<Json<InviteResponse>> {
    let saved = state.db.write(|txn| Box::pin(invite.insert(txn))).await?;
    Ok(Json(saved.into()))
}

pub struct HouseholdsApi;

#[OpenApi(tag = "Tag::Households")]
impl HouseholdsApi {
    /// Create a household; the caller becomes its owner.
    #[oai(
        path = "/api/v1/households",
        method = "post",
        operation_id = "create_household"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<HouseholdCreate>,
    ) -> ApiResult<Created> {
        let household = households::create(&state.db, auth.0.id, body.0.name.0).await?;
        Ok(Created::Household(Json(HouseholdResponse::new(
            household, 1,
        ))))
    }

    /// The caller's households, with their member counts.
    #[oai(
        path = "/api/v1/households/mine",
        method = "get",
        operation_id = "list_my_households"
    )]
    async fn mine(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> ApiResult<Json<Vec<HouseholdResponse>>> {
        let me = auth.0.id;
        let households = state
            .db
            .read(|conn| async move {
                household::Entity::find()
                    .inner_join(household_member::Entity)
                    .filter(household_member::Column::UserId.eq(me))
                    .order_by_asc(household::Column::CreatedAt)
                    .all(&conn)
                    .await
            })
            .await?;
        let ids: Vec<Uuid> = households.iter().map(|h| h.id).collect();
        let counts: HashMap<Uuid, i64> = state
            .db
            .read(|conn| {
                let ids = ids.clone();
                async move {
                    household_member::Entity::find()
                        .select_only()
                        .column(household_member::Column::HouseholdId)
                        .column_as(household_member::Column::Id.count(), "members")
                        .filter(household_member::Column::HouseholdId.is_in(ids))
                        .group_by(household_member::Column::HouseholdId)
                        .into_tuple::<(Uuid, i64)>()
                        .all(&conn)
                        .await
                }
            })
            .await?
            .into_iter()
            .collect();
        Ok(Json(
            households
                .into_iter()
                .map(|h| {
                    let count = counts.get(&h.id).copied().unwrap_or(0).max(0) as u64;
                    HouseholdResponse::new(h, count)
                })
                .collect(),
        ))
    }

    /// Join a household with an invite token.
    #[oai(
        path = "/api/v1/households/join",
        method = "post",
        operation_id = "join_household"
    )]
    async fn join(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<JoinHouseholdRequest>,
    ) -> ApiResult<Json<HouseholdResponse>> {
        let joiner = households::Joiner {
            id: auth.0.id,
            email: &auth.0.email,
        };
        let (household, count) = households::join(&state.db, joiner, body.0.token.0).await?;
        Ok(Json(HouseholdResponse::new(household, count)))
    }

    /// A household with its members.
    #[oai(
        path = "/api/v1/households/:household_id",
        method = "get",
        operation_id = "get_household"
    )]
    async fn detail(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
    ) -> ApiResult<Json<HouseholdWithMembers>> {
        let Membership { household, .. } =
            membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound).await?;
        let members = members_with_users(&state, household.id).await?;
        Ok(Json(HouseholdWithMembers {
            id: household.id,
            name: household.name,
            created_by: household.created_by,
            created_at: household.created_at.into(),
            members,
        }))
    }

    /// Rename a household (owners only).
    #[oai(
        path = "/api/v1/households/:household_id",
        method = "put",
        operation_id = "update_household"
    )]
    async fn rename(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
        body: Json<HouseholdCreate>,
    ) -> ApiResult<Json<HouseholdResponse>> {
        let owner = membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound)
            .await?
            .require_owner()?;
        let (household, count) =
            households::rename(&state.db, owner.household.id, body.0.name.0).await?;
        Ok(Json(HouseholdResponse::new(household, count)))
    }

    /// Delete a household and everything in it (owners only).
    #[oai(
        path = "/api/v1/households/:household_id",
        method = "delete",
        operation_id = "delete_household"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let owner = membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound)
            .await?
            .require_owner()?;
        households::delete(&state.db, owner.household.id).await?;
        Ok(NoContent::Done)
    }

    /// The household's members.
    #[oai(
        path = "/api/v1/households/:household_id/members",
        method = "get",
        operation_id = "list_household_members"
    )]
    async fn members(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<MemberWithUser>>> {
        let Membership { household, .. } =
            membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound).await?;
        Ok(Json(members_with_users(&state, household.id).await?))
    }

    /// Pending, unexpired invites of the household.
    #[oai(
        path = "/api/v1/households/:household_id/invites",
        method = "get",
        operation_id = "list_invites"
    )]
    async fn invites(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<InviteResponse>>> {
        let Membership { household, .. } =
            membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound).await?;
        let now = Utc::now().naive_utc();
        let invites = state
            .db
            .read(|conn| async move {
                household_invite::Entity::find()
                    .filter(household_invite::Column::HouseholdId.eq(household.id))
                    .filter(household_invite::Column::Status.eq(InviteStatus::Pending))
                    .filter(household_invite::Column::ExpiresAt.gt(now))
                    .order_by_asc(household_invite::Column::CreatedAt)
                    .all(&conn)
                    .await
            })
            .await?;
        Ok(Json(invites.into_iter().map(Into::into).collect()))
    }

    /// Invite someone by email (owners only); valid for seven days.
    #[oai(
        path = "/api/v1/households/:household_id/invite",
        method = "post",
        operation_id = "create_invite"
    )]
    async fn invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
        body: Json<InviteCreate>,
    ) -> ApiResult<Json<InviteResponse>> {
        let owner = membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound)
            .await?
            .require_owner()?;
        let household_id = owner.household.id;
        if let Some(email) = body.0.email.clone().map(String::from) {
            let now = Utc::now().naive_utc();
            let (already_member, active_invite) = state
                .db
                .read(|conn| {
                    let email = email.clone();
                    async move {
                        let member = household_member::Entity::find()
                            .inner_join(user::Entity)
                            .filter(household_member::Column::HouseholdId.eq(household_id))
                            .filter(user::Column::Email.eq(email.clone()))
                            .one(&conn)
                            .await?;
                        let invite = household_invite::Entity::find()
                            .filter(household_invite::Column::HouseholdId.eq(household_id))
                            .filter(household_invite::Column::Email.eq(email))
                            .filter(household_invite::Column::Status.eq(InviteStatus::Pending))
                            .filter(household_invite::Column::ExpiresAt.gt(now))
                            .one(&conn)
                            .await?;
                        Ok((member.is_some(), invite.is_some()))
                    }
                })
                .await?;
            if already_member {
                return Err(ApiError::bad_request(
                    "User is already a member of this household",
                ));
            }
            if active_invite {
                return Err(ApiError::bad_request(
                    "An active invite already exists for this email",
                ));
            }
        }
        save_invite(
            &state,
            new_invite(
                household_id,
                body.0.email.map(String::from),
                owner.member.user_id,
            )?,
        )
        .await
    }

    /// A link-style invite without an email: anyone holding the token may join (owners only).
    #[oai(
        path = "/api/v1/households/:household_id/invite/public",
        method = "post",
        operation_id = "create_public_invite"
    )]
    async fn public_invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
        _body: Json<CreatePublicInviteRequest>,
    ) -> ApiResult<Json<InviteResponse>> {
        let owner = membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound)
            .await?
            .require_owner()?;
        save_invite(
            &state,
            new_invite(owner.household.id, None, owner.member.user_id)?,
        )
        .await
    }

    /// Cancel a pending invite (owners only); it is kept, marked expired.
    #[oai(
        path = "/api/v1/households/:household_id/invites/:invite_id",
        method = "delete",
        operation_id = "cancel_invite"
    )]
    async fn cancel_invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
        invite_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let owner = membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound)
            .await?
            .require_owner()?;
        let household_id = owner.household.id;
        let invite_id = invite_id.0;
        let invite = state
            .db
            .read(|conn| async move {
                household_invite::Entity::find_by_id(invite_id)
                    .filter(household_invite::Column::HouseholdId.eq(household_id))
                    .one(&conn)
                    .await
            })
            .await?
            .ok_or_else(|| ApiError::not_found("Invite not found"))?;
        if invite.status != InviteStatus::Pending {
            return Err(ApiError::bad_request("Can only cancel pending invites"));
        }
        state
            .db
            .write(|txn| {
                Box::pin(async move {
                    let mut cancelled = invite.into_active_model();
                    cancelled.status = Set(InviteStatus::Expired);
                    cancelled.update(txn).await?;
                    Ok::<_, ApiError>(())
                })
            })
            .await?;
        Ok(NoContent::Done)
    }

    /// Change a member's role (owners only); the last owner cannot be demoted.
    #[oai(
        path = "/api/v1/households/:household_id/members/:member_id",
        method = "patch",
        operation_id = "update_member_role"
    )]
    async fn update_role(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
        member_id: Path<Uuid>,
        body: Json<MemberRoleUpdate>,
    ) -> ApiResult<Json<MemberWithUser>> {
        let owner = membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound)
            .await?
            .require_owner()?;
        let (member, user) = members::change_role(
            &state.db,
            owner.household.id,
            auth.0.id,
            member_id.0,
            body.0.role.0,
        )
        .await?;
        Ok(Json(MemberWithUser::new(member, user)))
    }

    /// Remove a member (owners only); the last owner cannot be removed.
    #[oai(
        path = "/api/v1/households/:household_id/members/:member_id",
        method = "delete",
        operation_id = "remove_member"
    )]
    async fn remove_member(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
        member_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let owner = membership(&state.db, household_id.0, auth.0.id, WhenMissing::NotFound)
            .await?
            .require_owner()?;
        members::remove(&state.db, owner.household.id, auth.0.id, member_id.0).await?;
        Ok(NoContent::Done)
    }

    /// Leave the household; the last member leaving deletes it.
    #[oai(
        path = "/api/v1/households/:household_id/leave",
        method = "post",
        operation_id = "leave_household"
    )]
    async fn leave(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        members::leave(&state.db, household_id.0, auth.0.id).await?;
        Ok(NoContent::Done)
    }
}
