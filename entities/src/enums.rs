//! The PostgreSQL enum types of the schema (lower-case labels); plain text on SQLite.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "memberrole")]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    #[sea_orm(string_value = "owner")]
    Owner,
    #[sea_orm(string_value = "member")]
    Member,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "invitestatus")]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "expired")]
    Expired,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "todostatus")]
#[serde(rename_all = "snake_case")]
pub enum TodoStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "completed")]
    Completed,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "todopriority")]
#[serde(rename_all = "snake_case")]
pub enum TodoPriority {
    #[sea_orm(string_value = "low")]
    Low,
    #[sea_orm(string_value = "medium")]
    Medium,
    #[sea_orm(string_value = "high")]
    High,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "shoppingliststatus")]
#[serde(rename_all = "snake_case")]
pub enum ShoppingListStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "archived")]
    Archived,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "expensecategory")]
#[serde(rename_all = "snake_case")]
pub enum ExpenseCategory {
    #[sea_orm(string_value = "groceries")]
    Groceries,
    #[sea_orm(string_value = "utilities")]
    Utilities,
    #[sea_orm(string_value = "rent")]
    Rent,
    #[sea_orm(string_value = "internet")]
    Internet,
    #[sea_orm(string_value = "cleaning")]
    Cleaning,
    #[sea_orm(string_value = "maintenance")]
    Maintenance,
    #[sea_orm(string_value = "entertainment")]
    Entertainment,
    #[sea_orm(string_value = "food")]
    Food,
    #[sea_orm(string_value = "transportation")]
    Transportation,
    #[sea_orm(string_value = "other")]
    Other,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "paymentmethod")]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    #[sea_orm(string_value = "cash")]
    Cash,
    #[sea_orm(string_value = "card")]
    Card,
    #[sea_orm(string_value = "bank_transfer")]
    BankTransfer,
    #[sea_orm(string_value = "digital_wallet")]
    DigitalWallet,
    #[sea_orm(string_value = "other")]
    Other,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "splittype")]
#[serde(rename_all = "snake_case")]
pub enum SplitType {
    #[sea_orm(string_value = "equal")]
    Equal,
    #[sea_orm(string_value = "custom")]
    Custom,
    #[sea_orm(string_value = "percentage")]
    Percentage,
}

/// One of these enums as its text label, without the ORM's traits: what the API needs to
/// read, write and list them.
pub trait Labelled: Sized + Copy {
    /// Every member, in declaration order.
    fn all() -> Vec<Self>;
    fn label(self) -> String;
    /// The member labelled `label` exactly.
    fn from_label(label: &str) -> Option<Self>;
}

impl<E: ActiveEnum<Value = String> + sea_orm::Iterable + Copy> Labelled for E {
    fn all() -> Vec<Self> {
        E::iter().collect()
    }

    fn label(self) -> String {
        self.to_value()
    }

    fn from_label(label: &str) -> Option<Self> {
        E::try_from_value(&label.to_owned()).ok()
    }
}
