use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub full_name: String,
    #[sea_orm(unique)]
    pub google_id: String,
    pub profile_picture_url: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::household_member::Entity")]
    HouseholdMember,
}

impl Related<super::household_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::HouseholdMember.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
