//! `/api/v1/households`: households, their members and invites. One household per user.

use entities::{
    enums::{InviteStatus, MemberRole},
    household, household_invite, household_member, user,
};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags, param::Path, payload::Json};
use uuid::Uuid;

use super::{any_case_enum::AnyCaseEnum, strict_string::StrictString, timestamp::Timestamp};
use crate::{
    auth::BearerAuth,
    error::ApiResult,
    service::{access::WhenMissing, households, invites, members},
    state::AppState,
};

#[derive(Tags)]
enum Tag {
    /// Households, members and invites.
    Households,
}

#[derive(Object)]
struct HouseholdCreate {
    #[oai(validator(min_length = 1, max_length = 100))]
    name: StrictString,
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
    role: AnyCaseEnum<MemberRole>,
    joined_at: Timestamp,
    email: String,
    full_name: String,
    #[oai(nullable)]
    profile_picture_url: Option<String>,
}

impl From<(household_member::Model, user::Model)> for MemberWithUser {
    fn from((member, user): (household_member::Model, user::Model)) -> Self {
        Self {
            id: member.id,
            user_id: member.user_id,
            role: AnyCaseEnum(member.role),
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
    email: Option<StrictString>,
}

#[derive(Object)]
struct CreatePublicInviteRequest {}

#[derive(Object)]
pub(super) struct InviteResponse {
    id: Uuid,
    household_id: Uuid,
    #[oai(nullable)]
    email: Option<String>,
    token: String,
    status: AnyCaseEnum<InviteStatus>,
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
            status: AnyCaseEnum(invite.status),
            expires_at: invite.expires_at.into(),
            created_at: invite.created_at.into(),
        }
    }
}

#[derive(Object)]
struct JoinHouseholdRequest {
    #[oai(validator(min_length = 1, max_length = 200))]
    token: StrictString,
}

#[derive(Object)]
struct MemberRoleUpdate {
    role: AnyCaseEnum<MemberRole>,
}

#[derive(ApiResponse)]
enum Created {
    /// Created.
    #[oai(status = 201)]
    Household(Json<HouseholdResponse>),
}

#[derive(ApiResponse)]
pub(super) enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
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
        let household = households::create(&state.db, auth.caller(), body.0.name.0).await?;
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
        let households = households::mine(&state.db, auth.caller()).await?;
        Ok(Json(
            households
                .into_iter()
                .map(|(household, count)| HouseholdResponse::new(household, count))
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
            caller: auth.caller(),
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
        let member = auth
            .membership(&state.db, household_id.0, WhenMissing::NotFound)
            .await?;
        let (household, members) = members::list(&state.db, &member).await?;
        Ok(Json(HouseholdWithMembers {
            id: household.id,
            name: household.name,
            created_by: household.created_by,
            created_at: household.created_at.into(),
            members: members.into_iter().map(MemberWithUser::from).collect(),
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
        let owner = auth.ownership(&state.db, household_id.0).await?;
        let (household, count) = households::rename(&state.db, &owner, body.0.name.0).await?;
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
        let owner = auth.ownership(&state.db, household_id.0).await?;
        households::delete(&state.db, &owner).await?;
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
        let member = auth
            .membership(&state.db, household_id.0, WhenMissing::NotFound)
            .await?;
        let (_, members) = members::list(&state.db, &member).await?;
        Ok(Json(
            members.into_iter().map(MemberWithUser::from).collect(),
        ))
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
        let member = auth
            .membership(&state.db, household_id.0, WhenMissing::NotFound)
            .await?;
        let invites = invites::pending(&state.db, &member).await?;
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
        let owner = auth.ownership(&state.db, household_id.0).await?;
        let email = body.0.email.map(String::from);
        let invite = invites::create(&state.db, &owner, email).await?;
        Ok(Json(invite.into()))
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
        let owner = auth.ownership(&state.db, household_id.0).await?;
        let invite = invites::create(&state.db, &owner, None).await?;
        Ok(Json(invite.into()))
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
        let owner = auth.ownership(&state.db, household_id.0).await?;
        invites::cancel(&state.db, &owner, invite_id.0.into()).await?;
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
        let owner = auth.ownership(&state.db, household_id.0).await?;
        let (member, user) =
            members::change_role(&state.db, &owner, member_id.0.into(), body.0.role.0).await?;
        Ok(Json(MemberWithUser::from((member, user))))
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
        let owner = auth.ownership(&state.db, household_id.0).await?;
        members::remove(&state.db, &owner, member_id.0.into()).await?;
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
        members::leave(&state.db, auth.caller(), household_id.0.into()).await?;
        Ok(NoContent::Done)
    }
}
