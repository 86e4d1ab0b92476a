//! The schema: our migrations build exactly what the old Alembic migrations built, a
//! database built by those is adopted untouched, and the entities read and write every
//! table on both backends.

use chrono::{SubsecRound, Utc};
use entities::{
    enums::{MemberRole, TodoPriority, TodoStatus},
    household, household_member, todo, user,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::harness::{TestApp, TestDb, on_postgres};

const ALEMBIC_SCHEMA: &str = include_str!("../fixtures/alembic_schema.sql");

/// The ten tables of the contract.
const TABLES: [&str; 10] = [
    "users",
    "households",
    "household_members",
    "household_invites",
    "todos",
    "expenses",
    "expense_splits",
    "item_categories",
    "shopping_lists",
    "shopping_list_items",
];

/// Every fact of the ten tables that the catalog holds, one sorted line each: columns with
/// type, nullability, default and position; constraints; indexes; enum types and labels.
async fn catalog(db: &TestDb) -> Vec<String> {
    let tables = TABLES.map(|t| format!("'{t}'")).join(",");
    let sql = format!(
        "SELECT line FROM (
            SELECT format('column %s.%s #%s %s not_null=%s default=%s', c.relname, a.attname,
                          a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                          coalesce(pg_get_expr(d.adbin, d.adrelid), '-')) AS line
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE c.relkind = 'r' AND c.relname IN ({tables}) AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT format('constraint %s %s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
              FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
             WHERE c.relname IN ({tables})
            UNION ALL
            SELECT format('index %s %s', tablename, indexdef) FROM pg_indexes
             WHERE schemaname = 'public' AND tablename IN ({tables})
            UNION ALL
            SELECT format('enum %s %s', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder))
              FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname
        ) facts ORDER BY line"
    );
    db.strings(&sql).await
}

/// Every row of the ten tables, as JSON text.
async fn rows(db: &TestDb) -> Vec<String> {
    let mut all = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT row_to_json(t)::text FROM {table} t ORDER BY id");
        all.extend(
            db.strings(&sql)
                .await
                .into_iter()
                .map(|row| format!("{table} {row}")),
        );
    }
    all
}

#[tokio::test]
async fn migrations_build_the_alembic_schema_exactly_on_postgres() {
    if !on_postgres() {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE_URL unset)");
        return;
    }
    let ours = TestApp::spawn().await;
    let theirs = TestDb::new().await;
    theirs.exec(ALEMBIC_SCHEMA).await;
    let (ours, theirs) = (catalog(&ours.db).await, catalog(&theirs).await);
    assert!(
        ours.len() > 150,
        "catalog query found too little: {}",
        ours.len()
    );
    let missing: Vec<_> = theirs.iter().filter(|l| !ours.contains(l)).collect();
    let extra: Vec<_> = ours.iter().filter(|l| !theirs.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "schema differs\nmissing: {missing:#?}\nextra: {extra:#?}"
    );
}

#[tokio::test]
async fn database_built_by_alembic_is_adopted_untouched() {
    if !on_postgres() {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE_URL unset)");
        return;
    }
    let db = TestDb::new().await;
    db.exec(ALEMBIC_SCHEMA).await;
    db.exec(
        "INSERT INTO users (id, email, full_name, google_id) VALUES
             ('00000000-0000-4000-8000-000000000001', 'ann@example.com', 'Ann', 'g-ann');
         INSERT INTO households (id, name, created_by) VALUES
             ('00000000-0000-4000-8000-000000000002', 'Flat 1', '00000000-0000-4000-8000-000000000001');
         INSERT INTO household_members (id, user_id, household_id, role) VALUES
             ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001',
              '00000000-0000-4000-8000-000000000002', 'owner');
         INSERT INTO todos (id, household_id, title, created_by) VALUES
             ('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000002',
              'Bins', '00000000-0000-4000-8000-000000000001');",
    )
    .await;
    let (schema_before, rows_before) = (catalog(&db).await, rows(&db).await);

    let app = TestApp::on(db, &[]).await;
    app.client
        .get("/health/ready")
        .send()
        .await
        .assert_status_is_ok();
    app.client
        .get("/health/deep")
        .send()
        .await
        .assert_status_is_ok();
    // Migrating again (a second replica, a restart) changes nothing either.
    app.state.db.migrate().await.expect("second migrate");

    assert_eq!(catalog(&app.db).await, schema_before);
    assert_eq!(rows(&app.db).await, rows_before);
    assert_eq!(
        app.db
            .strings("SELECT version_num FROM alembic_version")
            .await,
        ["006"]
    );
    let todos = todo::Entity::find()
        .all(app.state.db.connection())
        .await
        .expect("read todos");
    assert_eq!(todos.len(), 1);
    assert_eq!(todos[0].status, TodoStatus::Pending);
    assert_eq!(todos[0].priority, TodoPriority::Medium);
}

#[tokio::test]
async fn migrations_create_the_ten_tables() {
    let app = TestApp::spawn().await;
    let sql = match app.db.backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
    };
    let tables = app.db.strings(sql).await;
    for table in TABLES {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
}

#[tokio::test]
async fn entities_round_trip_with_lower_case_enum_labels() {
    let app = TestApp::spawn().await;
    let conn = app.state.db.connection();
    let now = Utc::now().naive_utc().trunc_subsecs(6);
    let owner = user::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        email: Set("bo@example.com".into()),
        full_name: Set("Bo".into()),
        google_id: Set("g-bo".into()),
        profile_picture_url: Set(None),
        is_active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
    .expect("insert user");
    let home = household::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        name: Set("Flat".into()),
        created_by: Set(owner.id),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .expect("insert household");
    household_member::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        user_id: Set(owner.id),
        household_id: Set(home.id),
        role: Set(MemberRole::Owner),
        joined_at: Set(now),
    }
    .insert(conn)
    .await
    .expect("insert member");
    let chore = todo::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        household_id: Set(home.id),
        title: Set("Dishes".into()),
        description: Set(None),
        status: Set(TodoStatus::InProgress),
        priority: Set(TodoPriority::High),
        due_date: Set(Some(now)),
        assigned_to_id: Set(Some(owner.id)),
        created_by: Set(owner.id),
        recurring_pattern: Set(None),
        recurring_until: Set(None),
        parent_todo_id: Set(None),
        completed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
    .expect("insert todo");

    let found = todo::Entity::find()
        .filter(todo::Column::Status.eq(TodoStatus::InProgress))
        .one(conn)
        .await
        .expect("query")
        .expect("the todo");
    assert_eq!(found, chore);
    let labels = app
        .db
        .strings("SELECT status || '/' || priority FROM todos")
        .await;
    assert_eq!(labels, ["in_progress/high"]);
    assert_eq!(
        app.db
            .strings("SELECT role || '' FROM household_members")
            .await,
        ["owner"]
    );
}

#[tokio::test]
async fn replicas_migrating_an_empty_database_together_both_succeed() {
    let db = TestDb::new().await;
    let (one, two) = (
        crate::harness::state_for(crate::harness::settings(&db.url, &[])).await,
        crate::harness::state_for(crate::harness::settings(&db.url, &[])).await,
    );
    let (first, second) = tokio::join!(one.db.migrate(), two.db.migrate());
    first.expect("the first replica migrates");
    second.expect("the second replica migrates");
    let applied = db
        .strings("SELECT version FROM seaql_migrations ORDER BY 1")
        .await;
    assert_eq!(
        applied,
        [
            "m20251101_000001_initial_schema",
            "m20251127_000002_idempotency_keys",
            "m20251203_000003_sync_deletions",
            "m20251207_000004_category_owners",
            "m20251208_000005_ai_preferences"
        ]
    );
}
