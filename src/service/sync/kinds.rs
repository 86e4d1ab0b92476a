//! What sync does to each kind of row: the same rules as the REST routes (the rows they
//! build, who may be assigned, which list an item may go in, who may change an expense),
//! checked against what one read of the sync's household holds instead of a query each.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use entities::{expense, expense_split, shopping_list, shopping_list_item, todo};
use sea_orm::{EntityTrait, FromQueryResult, ModelTrait};
use uuid::Uuid;

use super::{Op, reason};
use crate::{
    domain::ids::{ExpenseId, ShoppingItemId, ShoppingListId, TodoId, UserId},
    service::{
        access::{Membership, NOT_ASSIGNABLE},
        changes::RowKind,
        expenses::{self, EXPENSE_NOT_FOUND, ExpenseChanges, NewExpense},
        shopping::{
            self, ITEM_NOT_FOUND, ItemChanges, LIST_NOT_FOUND, ListChanges, NewItem, NewList,
        },
        todos::{self, NewTodo, TODO_NOT_FOUND, TodoChanges},
    },
};

/// What the rules need to know of the sync's household, read once.
pub struct Context {
    /// The caller's, held with the household's members until the sync ends.
    pub membership: Membership,
    /// When the sync's changes are made.
    pub now: NaiveDateTime,
    /// Its members, in the order they joined (equal shares follow it).
    pub members: Vec<UserId>,
    /// Of the lists the sync's items name, those in the household.
    pub lists: HashSet<ShoppingListId>,
}

impl Context {
    fn user_id(&self) -> UserId {
        self.membership.user_id()
    }

    fn assignable(&self, assignee: Option<&UserId>) -> Result<(), String> {
        match assignee {
            Some(user) if !self.members.contains(user) => Err(NOT_ASSIGNABLE.to_owned()),
            _ => Ok(()),
        }
    }
}

/// One kind of synced row.
pub trait Kind {
    type Entity: EntityTrait<Model = Self::Row>;
    type Row: ModelTrait<Entity = Self::Entity>
        + FromQueryResult
        + Clone
        + PartialEq
        + Send
        + Sync
        + 'static;
    type New;
    type Changes;
    /// Its typed id, as entries name rows.
    type Id: Copy + Into<Uuid>;
    /// What a create writes beside the row (an expense's splits).
    type Extra: Send + 'static;

    const KIND: RowKind;
    /// The answer for a row that is not the household's.
    const NOT_FOUND: &'static str;

    fn id(row: &Self::Row) -> Uuid;
    fn new_id(new: &Self::New) -> Uuid;
    fn updated_at(row: &Self::Row) -> NaiveDateTime;
    /// The row `new` makes, or why it may not be made.
    fn create(new: Self::New, ctx: &Context) -> Result<(Self::Row, Self::Extra), String>;
    /// `current` with `changes` made, or why they may not be.
    fn update(
        current: &Self::Row,
        changes: Self::Changes,
        ctx: &Context,
    ) -> Result<Self::Row, String>;
    /// Refused unless the caller may update or delete `row` (`action` says which).
    fn may_change(_row: &Self::Row, _ctx: &Context, _action: &str) -> Result<(), String> {
        Ok(())
    }

    /// The lists an entry's new row would go in (items).
    fn lists_named(_op: &Op<Self::New, Self::Changes, Self::Id>) -> Vec<ShoppingListId> {
        Vec::new()
    }

    /// The splits the creates wrote beside their rows (expenses).
    fn splits(_extras: Vec<Self::Extra>) -> Vec<expense_split::Model> {
        Vec::new()
    }
}

pub struct Todos;

impl Kind for Todos {
    type Entity = todo::Entity;
    type Row = todo::Model;
    type New = NewTodo;
    type Changes = TodoChanges;
    type Id = TodoId;
    type Extra = ();

    const KIND: RowKind = RowKind::Todo;
    const NOT_FOUND: &'static str = TODO_NOT_FOUND;

    fn id(row: &todo::Model) -> Uuid {
        row.id
    }

    fn new_id(new: &NewTodo) -> Uuid {
        new.id.uuid()
    }

    fn updated_at(row: &todo::Model) -> NaiveDateTime {
        row.updated_at
    }

    fn create(new: NewTodo, ctx: &Context) -> Result<(todo::Model, ()), String> {
        ctx.assignable(new.assigned_to_id.as_ref())?;
        Ok((todos::new_row(new, ctx.user_id(), ctx.now), ()))
    }

    fn update(
        current: &todo::Model,
        changes: TodoChanges,
        ctx: &Context,
    ) -> Result<todo::Model, String> {
        ctx.assignable(changes.assigned_to_id.value())?;
        Ok(todos::changed(current, changes, ctx.now))
    }
}

pub struct Lists;

impl Kind for Lists {
    type Entity = shopping_list::Entity;
    type Row = shopping_list::Model;
    type New = NewList;
    type Changes = ListChanges;
    type Id = ShoppingListId;
    type Extra = ();

    const KIND: RowKind = RowKind::ShoppingList;
    const NOT_FOUND: &'static str = LIST_NOT_FOUND;

    fn id(row: &shopping_list::Model) -> Uuid {
        row.id
    }

    fn new_id(new: &NewList) -> Uuid {
        new.id.uuid()
    }

    fn updated_at(row: &shopping_list::Model) -> NaiveDateTime {
        row.updated_at
    }

    fn create(new: NewList, ctx: &Context) -> Result<(shopping_list::Model, ()), String> {
        Ok((shopping::lists::new_row(new, ctx.user_id(), ctx.now), ()))
    }

    fn update(
        current: &shopping_list::Model,
        changes: ListChanges,
        ctx: &Context,
    ) -> Result<shopping_list::Model, String> {
        Ok(shopping::lists::changed(current, changes, ctx.now))
    }
}

pub struct Items;

impl Kind for Items {
    type Entity = shopping_list_item::Entity;
    type Row = shopping_list_item::Model;
    type New = NewItem;
    type Changes = ItemChanges;
    type Id = ShoppingItemId;
    type Extra = ();

    const KIND: RowKind = RowKind::ShoppingItem;
    const NOT_FOUND: &'static str = ITEM_NOT_FOUND;

    fn id(row: &shopping_list_item::Model) -> Uuid {
        row.id
    }

    fn new_id(new: &NewItem) -> Uuid {
        new.id.uuid()
    }

    fn updated_at(row: &shopping_list_item::Model) -> NaiveDateTime {
        row.updated_at
    }

    fn create(new: NewItem, ctx: &Context) -> Result<(shopping_list_item::Model, ()), String> {
        if !ctx.lists.contains(&new.shopping_list_id) {
            return Err(LIST_NOT_FOUND.to_owned());
        }
        ctx.assignable(new.assigned_to_id.as_ref())?;
        Ok((shopping::items::new_row(new, ctx.user_id(), ctx.now), ()))
    }

    fn lists_named(op: &Op<NewItem, ItemChanges, ShoppingItemId>) -> Vec<ShoppingListId> {
        match op {
            Op::Create(new)
            | Op::Update {
                or_create: Some(new),
                ..
            } => vec![new.shopping_list_id],
            _ => Vec::new(),
        }
    }

    fn update(
        current: &shopping_list_item::Model,
        changes: ItemChanges,
        ctx: &Context,
    ) -> Result<shopping_list_item::Model, String> {
        ctx.assignable(changes.assigned_to_id.value())?;
        Ok(shopping::items::changed(
            current,
            changes,
            ctx.user_id(),
            ctx.now,
        ))
    }
}

pub struct Expenses;

impl Kind for Expenses {
    type Entity = expense::Entity;
    type Row = expense::Model;
    type New = NewExpense;
    type Changes = ExpenseChanges;
    type Id = ExpenseId;
    type Extra = Vec<expense_split::Model>;

    const KIND: RowKind = RowKind::Expense;
    const NOT_FOUND: &'static str = EXPENSE_NOT_FOUND;

    fn id(row: &expense::Model) -> Uuid {
        row.id
    }

    fn new_id(new: &NewExpense) -> Uuid {
        new.id.uuid()
    }

    fn updated_at(row: &expense::Model) -> NaiveDateTime {
        row.updated_at
    }

    fn create(
        new: NewExpense,
        ctx: &Context,
    ) -> Result<(expense::Model, Vec<expense_split::Model>), String> {
        expenses::new_rows(new, ctx.user_id(), &ctx.members, ctx.now).map_err(reason)
    }

    fn update(
        current: &expense::Model,
        changes: ExpenseChanges,
        ctx: &Context,
    ) -> Result<expense::Model, String> {
        Ok(expenses::changed(current, changes, ctx.now))
    }

    fn splits(extras: Vec<Vec<expense_split::Model>>) -> Vec<expense_split::Model> {
        extras.into_iter().flatten().collect()
    }

    fn may_change(row: &expense::Model, ctx: &Context, action: &str) -> Result<(), String> {
        if UserId::from(row.created_by) == ctx.user_id() {
            Ok(())
        } else {
            Err(expenses::only_the_creator_can(action))
        }
    }
}
