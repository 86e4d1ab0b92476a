//! One kind's entries weighed and applied in order, against the rows one read found, as
//! the same entries sent one at a time would be: a row the sync wrote is no conflict, a
//! refused entry changes nothing, and later entries see what earlier ones did. What it
//! comes to (rows to insert, update and delete, deletions to record) is written in one go
//! by `sets`.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use uuid::Uuid;

use super::{
    About, Base, ConflictKind, Entry, Op,
    kinds::{Context, Kind},
};
use crate::service::constraints::ID_TAKEN;

/// What the read of a kind found of the ids its entries name.
pub struct Found<R> {
    /// The household's rows (held to the end of the sync, on PostgreSQL).
    pub ours: Vec<R>,
    /// Ids that are rows of another household.
    pub elsewhere: HashSet<Uuid>,
    /// When ids were deleted from the household, as recorded.
    pub deleted: HashMap<Uuid, NaiveDateTime>,
}

impl<R> Default for Found<R> {
    fn default() -> Self {
        Self {
            ours: Vec::new(),
            elsewhere: HashSet::new(),
            deleted: HashMap::new(),
        }
    }
}

/// What a kind's entries come to.
pub struct Plan<K: Kind> {
    pub inserts: Vec<K::Row>,
    pub updates: Vec<K::Row>,
    /// Rows that were there and are gone.
    pub deletes: Vec<Uuid>,
    /// Every id this sync deleted, to record; some were created again after.
    pub recorded: Vec<Uuid>,
    /// Ids deleted and created again: the row is updated in place, and what its delete
    /// took with it (a list's items, an expense's splits) goes as it would have.
    pub recreated: Vec<Uuid>,
    /// What the creates of the inserted and recreated rows write beside them.
    pub extras: Vec<K::Extra>,
}

impl<K: Kind> Plan<K> {
    pub fn is_empty(&self) -> bool {
        self.inserts.is_empty()
            && self.updates.is_empty()
            && self.deletes.is_empty()
            && self.recorded.is_empty()
    }
}

/// What one entry came to.
pub enum Applied {
    Yes,
    Refused(String),
    Lost(ConflictKind, NaiveDateTime),
}

/// What an entry is about, the row it names (when it could be read), and what it came to.
pub type Reported = (About, Option<Uuid>, Applied);

/// One id's row through the sync.
struct Slot<K: Kind> {
    initial: Option<K::Row>,
    current: Option<K::Row>,
    /// What its last create writes beside it.
    extra: Option<K::Extra>,
    deleted_at: Option<NaiveDateTime>,
    deleted_here: bool,
    written: bool,
}

/// The entries of one kind against what was found: the plan, and what each entry (and the
/// row it names, when it could be read) came to, in order.
pub fn plan<K: Kind>(
    found: Found<K::Row>,
    entries: Vec<Entry<K::New, K::Changes, K::Id>>,
    ctx: &Context,
    base: Base,
) -> (Plan<K>, Vec<Reported>) {
    let Found {
        ours,
        elsewhere,
        mut deleted,
    } = found;
    let mut order = Vec::new();
    let mut slots: HashMap<Uuid, Slot<K>> = HashMap::new();
    for row in ours {
        let id = K::id(&row);
        order.push(id);
        slots.insert(
            id,
            Slot {
                initial: Some(row.clone()),
                current: Some(row),
                extra: None,
                deleted_at: deleted.remove(&id),
                deleted_here: false,
                written: false,
            },
        );
    }
    let mut outcomes = Vec::with_capacity(entries.len());
    for Entry { about, change } in entries {
        let mut row = None;
        let applied = match change {
            Err(reason) => Applied::Refused(reason),
            Ok(op) => {
                let id = op.id::<K>();
                row = Some(id);
                let slot = slots.entry(id).or_insert_with(|| {
                    order.push(id);
                    Slot {
                        initial: None,
                        current: None,
                        extra: None,
                        deleted_at: deleted.remove(&id),
                        deleted_here: false,
                        written: false,
                    }
                });
                let base = Base {
                    client_version: about.client_version,
                    ..base
                };
                let applied = if slot.written {
                    apply(slot, op, elsewhere.contains(&id), ctx)
                } else {
                    guarded(slot, op, elsewhere.contains(&id), ctx, base)
                };
                if matches!(applied, Applied::Yes) {
                    slot.written = true;
                }
                applied
            }
        };
        outcomes.push((about, row, applied));
    }
    let mut plan = Plan {
        inserts: Vec::new(),
        updates: Vec::new(),
        deletes: Vec::new(),
        recorded: Vec::new(),
        recreated: Vec::new(),
        extras: Vec::new(),
    };
    for id in order {
        let Some(slot) = slots.remove(&id) else {
            continue;
        };
        if slot.deleted_here {
            plan.recorded.push(id);
        }
        match (slot.initial, slot.current) {
            (None, Some(row)) => {
                plan.inserts.push(row);
                plan.extras.extend(slot.extra);
            }
            (Some(_), Some(row)) if slot.deleted_here => {
                plan.recreated.push(id);
                plan.updates.push(row);
                plan.extras.extend(slot.extra);
            }
            (Some(before), Some(row)) if before != row => plan.updates.push(row),
            (Some(_), None) => plan.deletes.push(id),
            _ => {}
        }
    }
    (plan, outcomes)
}

/// Applies `op` unless the server's row won (see [`Base::server_wins`]), or it was
/// deleted on the server. A delete of a row already deleted is done.
fn guarded<K: Kind>(
    slot: &mut Slot<K>,
    op: Op<K::New, K::Changes, K::Id>,
    elsewhere: bool,
    ctx: &Context,
    base: Base,
) -> Applied {
    if !op.is_create()
        && let Some(row) = &slot.current
    {
        let changed = K::updated_at(row);
        if base.server_wins(changed) {
            return Applied::Lost(ConflictKind::ChangedOnServer, changed);
        }
        return apply(slot, op, elsewhere, ctx);
    }
    match slot.deleted_at {
        Some(_) if op.is_delete() => Applied::Yes,
        Some(deleted) => Applied::Lost(ConflictKind::DeletedOnServer, deleted),
        None => apply(slot, op, elsewhere, ctx),
    }
}

/// Applies `op` to the row as this sync has left it, by the kind's rules.
fn apply<K: Kind>(
    slot: &mut Slot<K>,
    op: Op<K::New, K::Changes, K::Id>,
    elsewhere: bool,
    ctx: &Context,
) -> Applied {
    match op {
        Op::Create(new) => create(slot, new, elsewhere, ctx),
        Op::Update {
            changes, or_create, ..
        } => match (&slot.current, or_create) {
            (Some(row), _) => match K::may_change(row, ctx, "update")
                .and_then(|()| K::update(row, changes, ctx))
            {
                Ok(row) => {
                    slot.current = Some(row);
                    Applied::Yes
                }
                Err(reason) => Applied::Refused(reason),
            },
            (None, Some(new)) => create(slot, new, elsewhere, ctx),
            (None, None) => Applied::Refused(K::NOT_FOUND.to_owned()),
        },
        Op::Delete(_) => match &slot.current {
            Some(row) => match K::may_change(row, ctx, "delete") {
                Ok(()) => {
                    slot.current = None;
                    slot.extra = None;
                    slot.deleted_at = Some(ctx.now);
                    slot.deleted_here = true;
                    Applied::Yes
                }
                Err(reason) => Applied::Refused(reason),
            },
            None => Applied::Refused(K::NOT_FOUND.to_owned()),
        },
    }
}

/// The kind's rules for a new row, then its id: taken by a row of this household or
/// another, it is refused as the table's primary key would refuse it.
fn create<K: Kind>(slot: &mut Slot<K>, new: K::New, elsewhere: bool, ctx: &Context) -> Applied {
    match K::create(new, ctx) {
        Err(reason) => Applied::Refused(reason),
        Ok(_) if elsewhere || slot.current.is_some() => Applied::Refused(ID_TAKEN.to_owned()),
        Ok((row, extra)) => {
            slot.current = Some(row);
            slot.extra = Some(extra);
            Applied::Yes
        }
    }
}
