//! `GET /auth/me/export`: a copy of everything the service holds of the caller, in one JSON
//! document, every row in the shape its REST answer has. Written while the client reads it
//! (`JsonWritten`), so a long-standing account's thousands of rows are never one text.

use entities::{enums::MemberRole, household, household_member};
use poem_openapi::{Object, types::ToJSON};
use uuid::Uuid;

use super::{
    any_case_enum::AnyCaseEnum,
    auth::MeResponse,
    expenses::wire::{ExpenseWithSplits, SplitResponse},
    households::InviteResponse,
    json_rows::{JsonWritten, Piece, Rows, Text},
    shopping::{ItemResponse, ShoppingListResponse},
    timestamp::Timestamp,
    todos::TodoResponse,
};
use crate::service::account::Export;

/// A household the user is in, and their place in it.
#[derive(Object)]
pub(super) struct ExportMembership {
    household_id: Uuid,
    household_name: String,
    role: AnyCaseEnum<MemberRole>,
    joined_at: Timestamp,
}

impl From<(household_member::Model, household::Model)> for ExportMembership {
    fn from((member, household): (household_member::Model, household::Model)) -> Self {
        Self {
            household_id: household.id,
            household_name: household.name,
            role: AnyCaseEnum(member.role),
            joined_at: member.joined_at.into(),
        }
    }
}

/// Everything the service holds of the signed-in user.
#[derive(Object)]
pub(super) struct AccountExport {
    /// When the copy was made (UTC).
    exported_at: Timestamp,
    profile: MeResponse,
    memberships: Vec<ExportMembership>,
    /// Todos they created or are assigned.
    todos: Vec<TodoResponse>,
    /// Shopping lists they created.
    shopping_lists: Vec<ShoppingListResponse>,
    /// Shopping items they added.
    shopping_items: Vec<ItemResponse>,
    /// Expenses they recorded, each with all its splits.
    expenses: Vec<ExpenseWithSplits>,
    /// Their share of every expense, settled or not.
    splits: Vec<SplitResponse>,
    /// Invites they sent.
    invites: Vec<InviteResponse>,
}

/// The export document, written piece by piece in `AccountExport`'s field order.
pub(super) fn document(export: Export) -> JsonWritten<AccountExport> {
    let text = |text: String| -> Box<dyn Piece> { Box::new(Text(text.into_bytes())) };
    let exported_at = Timestamp::from(chrono::Utc::now().naive_utc());
    let profile = MeResponse::new(export.profile, export.ai_features);
    let memberships: Vec<ExportMembership> =
        export.memberships.into_iter().map(Into::into).collect();
    let invites: Vec<InviteResponse> = export.invites.into_iter().map(Into::into).collect();
    JsonWritten::of(vec![
        text(format!(
            "{{\"exported_at\":{},\"profile\":{},\"memberships\":{},\"todos\":",
            exported_at.to_json_string(),
            profile.to_json_string(),
            memberships.to_json_string(),
        )),
        Box::new(Rows::new(export.todos.into_iter().map(TodoResponse::from))),
        text(",\"shopping_lists\":".to_owned()),
        Box::new(Rows::new(
            export
                .shopping_lists
                .into_iter()
                .map(ShoppingListResponse::from),
        )),
        text(",\"shopping_items\":".to_owned()),
        Box::new(Rows::new(
            export.shopping_items.into_iter().map(ItemResponse::from),
        )),
        text(",\"expenses\":".to_owned()),
        Box::new(Rows::new(
            export.expenses.into_iter().map(ExpenseWithSplits::from),
        )),
        text(",\"splits\":".to_owned()),
        Box::new(Rows::new(
            export.splits.into_iter().map(SplitResponse::from),
        )),
        text(format!(",\"invites\":{}}}", invites.to_json_string())),
    ])
}
