//! The chaos suite (`make chaos`): the real binary behind the fault proxy, in front of a
//! PostgreSQL cluster of the suite's own (so stopping it harms nothing else), under a steady
//! load of reads and writes from clients that behave like the app: they retry a 503 or 504
//! after `Retry-After`, with the same `Idempotency-Key`. Through a cold start, terminated
//! backends, a stopped server, a black hole and connections that go silent it checks that
//! users only ever wait: no 500, every acknowledged write stored exactly once, and service
//! again within a second of the database coming back, without a restart.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::{process::Command, task::JoinSet, time::Instant};

use crate::{
    harness::{Service, http, wait_for_status},
    proxy::FaultProxy,
};

const CLIENTS: usize = 6;
/// A client's pause between operations: the load is steady and bounded, not a flood.
const THINK: Duration = Duration::from_millis(100);
const RECOVERY_LIMIT: Duration = Duration::from_secs(1);
/// How long clients may take to finish the writes they started once the faults are over.
const DRAIN: Duration = Duration::from_secs(60);
const SECRET: &str = "chaos-suite-secret-key-0123456789abcdef";

/// The service's `DB_STATEMENT_TIMEOUT_SECONDS` (its default): how long a statement on a
/// silent connection waits before the service gives up on that connection.
const STATEMENT_LIMIT: Duration = Duration::from_secs(5);

const PHASES: [&str; 6] = [
    "steady",
    "cold start (6 s)",
    "pg_terminate_backend ×3",
    "stopped (10 s)",
    "black hole (5 s)",
    "open connections silent (10 s)",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the chaos suite: run by `make chaos` (and `make test` with PostgreSQL)"]
async fn chaos_under_load_loses_no_write_and_doubles_none() {
    let cluster = Cluster::create().await;
    let proxy = FaultProxy::start(cluster.addr()).await;
    let mut service = Service::start(
        &format!("postgres://postgres@{}/flatmates", proxy.addr()),
        &[("SECRET_KEY", SECRET), ("ENVIRONMENT", "development")],
    )
    .await;
    // Migrations run after the server binds; ready means they are done.
    wait_for_status(
        &http(),
        &service.url("/health/ready"),
        200,
        Duration::from_secs(30),
    )
    .await;
    let load = Load::new(&service, &cluster).await;

    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(load.clone().client(n)))
        .collect();
    let mut recovery: Vec<(&str, Duration)> = Vec::new();
    tokio::time::sleep(Duration::from_secs(3)).await;

    load.enter(1);
    proxy.hold_new_connections(Duration::from_secs(6));
    proxy.cut_all();
    tokio::time::sleep(Duration::from_secs(6)).await;
    recovery.push((PHASES[1], load.recovery(Instant::now()).await));
    tokio::time::sleep(Duration::from_secs(3)).await;

    load.enter(2);
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        let terminated = cluster.terminate_backends().await;
        assert!(
            terminated > 0,
            "the service held no connection to terminate"
        );
        worst = worst.max(load.recovery(Instant::now()).await);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    recovery.push((PHASES[2], worst));
    tokio::time::sleep(Duration::from_secs(2)).await;

    load.enter(3);
    cluster.pg_ctl(&["stop", "-m", "fast"]).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    cluster.start().await;
    recovery.push((PHASES[3], load.recovery(Instant::now()).await));
    tokio::time::sleep(Duration::from_secs(3)).await;

    load.enter(4);
    proxy.black_hole();
    proxy.cut_all();
    tokio::time::sleep(Duration::from_secs(5)).await;
    proxy.forward();
    recovery.push((PHASES[4], load.recovery(Instant::now()).await));
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The flows the pool holds go silent for good while new connections work, as when a
    // NAT drops them. Counted from the stall: the database answers again, as far as the
    // service can tell, once a statement stuck on such a connection has run out of time.
    load.enter(5);
    let stalled = Instant::now();
    proxy.stall_open_connections();
    recovery.push((PHASES[5], load.recovery(stalled).await));
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(stalled.elapsed())).await;

    load.stopping.store(true, Ordering::SeqCst);
    for client in clients {
        tokio::time::timeout(DRAIN, client)
            .await
            .expect("clients finish their writes once the database is back")
            .expect("client task");
    }

    let report = load.report(&recovery);
    eprintln!("{report}");
    assert!(
        service.child.try_wait().expect("process status").is_none(),
        "the service exited during the faults: {:#?}",
        service.lines().await
    );
    let violations = load.violations.lock().expect("violations").clone();
    if !violations.is_empty() {
        let errors: Vec<String> = service
            .lines()
            .await
            .into_iter()
            .filter(|line| line.contains("\"ERROR\""))
            .collect();
        panic!("{report}\n{violations:#?}\nthe service's errors: {errors:#?}");
    }
    for (fault, took) in &recovery {
        let allowed = if *fault == PHASES[5] {
            STATEMENT_LIMIT + RECOVERY_LIMIT
        } else {
            RECOVERY_LIMIT
        };
        assert!(
            *took <= allowed,
            "{fault}: served again only {took:?} after the database came back\n{report}"
        );
    }
    load.assert_each_acknowledged_write_stored_once(&cluster)
        .await;
}

/// A PostgreSQL cluster in a temporary directory on a port of its own, run as the
/// `postgres` user when the suite runs as root (PostgreSQL refuses to run as root).
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    async fn create() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("flatmates-chaos-")
            .tempdir()
            .expect("temporary directory");
        let as_postgres = output(Command::new("id").arg("-u")).await.trim() == "0";
        if as_postgres {
            output(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(dir.path()),
            )
            .await;
        }
        let cluster = Self {
            bin: postgres_bindir(),
            port: free_port(),
            dir,
            as_postgres,
        };
        let mut initdb = cluster.tool("initdb");
        initdb
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(cluster.data());
        output(&mut Command::from(initdb)).await;
        cluster.start().await;
        cluster
            .admin("postgres")
            .await
            .execute_unprepared("CREATE DATABASE flatmates")
            .await
            .expect("create the suite's database");
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `name` from the cluster's PostgreSQL, as the user that owns the cluster.
    fn tool(&self, name: &str) -> std::process::Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut runuser = std::process::Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(path);
            runuser
        } else {
            std::process::Command::new(path)
        }
    }

    async fn pg_ctl(&self, args: &[&str]) {
        let mut pg_ctl = self.tool("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60"])
            .args(args);
        output(&mut Command::from(pg_ctl)).await;
    }

    async fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.pg_ctl(&["-l", &log.to_string_lossy(), "-o", &options, "start"])
            .await;
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A direct connection, past the proxy.
    async fn admin(&self, database: &str) -> DatabaseConnection {
        Database::connect(format!("postgres://postgres@{}/{database}", self.addr()))
            .await
            .expect("connect to the suite's cluster")
    }

    /// Terminates every backend serving the service, as a compute that drops its
    /// connections does; answers how many there were.
    async fn terminate_backends(&self) -> usize {
        let admin = self.admin("postgres").await;
        let rows = admin
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = 'flatmates' AND pid <> pg_backend_pid()",
            ))
            .await
            .expect("terminate backends");
        admin.close().await.expect("close");
        rows.len()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// The newest PostgreSQL installed from Debian's packages.
fn postgres_bindir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's binaries under /usr/lib/postgresql")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let version = path.file_name()?.to_str()?.parse().ok()?;
            Some((version, path.join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
        .1
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

async fn output(command: &mut Command) -> String {
    let out = command.output().await.expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a client makes of one response.
enum Answer {
    Success,
    /// A 503 or 504 in the error shape: try again after this long.
    RetryAfter(Duration),
    /// Anything else, recorded as a violation.
    Wrong,
}

/// One response a client saw.
struct Outcome {
    phase: usize,
    status: u16,
    latency: Duration,
}

#[derive(Clone, Copy)]
enum Write {
    Todo,
    Expense,
}

/// The load: one member of one household, reading and writing from several tasks.
#[derive(Clone)]
struct Load {
    http: reqwest::Client,
    base: String,
    token: String,
    household: uuid::Uuid,
    phase: Arc<AtomicUsize>,
    stopping: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    violations: Arc<Mutex<Vec<String>>>,
    acknowledged: Arc<Mutex<Vec<(&'static str, String)>>>,
}

impl Load {
    async fn new(service: &Service, cluster: &Cluster) -> Self {
        let user = uuid::Uuid::new_v4();
        let household = uuid::Uuid::new_v4();
        let db = cluster.admin("flatmates").await;
        db.execute_unprepared(&format!(
            "INSERT INTO users (id, email, full_name, google_id) \
                 VALUES ('{user}', 'chaos@example.com', 'Chaos', 'google-chaos');
             INSERT INTO households (id, name, created_by) VALUES ('{household}', 'Chaos flat', '{user}');
             INSERT INTO household_members (id, user_id, household_id, role) \
                 VALUES ('{}', '{user}', '{household}', 'owner');",
            uuid::Uuid::new_v4()
        ))
        .await
        .expect("seed the household");
        db.close().await.expect("close");
        let token =
            flatmates::auth::jwt::issue(user, SECRET, Duration::from_secs(3600)).expect("token");
        Self {
            http: http(),
            base: service.url(""),
            token,
            household,
            phase: Arc::default(),
            stopping: Arc::default(),
            outcomes: Arc::default(),
            violations: Arc::default(),
            acknowledged: Arc::default(),
        }
    }

    fn enter(&self, phase: usize) {
        self.phase.store(phase, Ordering::SeqCst);
    }

    async fn client(self, n: usize) {
        let mut i = 0usize;
        while !self.stopping.load(Ordering::SeqCst) {
            match i % 4 {
                1 => self.write(Write::Todo, format!("chaos {n}-{i}")).await,
                3 => self.write(Write::Expense, format!("chaos {n}-{i}")).await,
                _ => {
                    self.send(self.list_todos()).await;
                }
            }
            i += 1;
            tokio::time::sleep(THINK).await;
        }
    }

    fn list_todos(&self) -> reqwest::RequestBuilder {
        self.http
            .get(format!(
                "{}/api/v1/todos?household_id={}",
                self.base, self.household
            ))
            .bearer_auth(&self.token)
    }

    /// Creates a todo or an expense named `name`, retrying a 503 or 504 after
    /// `Retry-After` with the same key until it is acknowledged.
    async fn write(&self, kind: Write, name: String) {
        let (path, body, table) = match kind {
            Write::Todo => (
                "/api/v1/todos",
                json!({"household_id": self.household, "title": name}),
                "todos",
            ),
            Write::Expense => (
                "/api/v1/expenses",
                json!({"household_id": self.household, "amount": "12.50", "description": name}),
                "expenses",
            ),
        };
        let key = uuid::Uuid::new_v4().to_string();
        loop {
            let request = self
                .http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .header("Idempotency-Key", &key)
                .json(&body);
            match self.send(request).await {
                Answer::Success => {
                    self.acknowledged
                        .lock()
                        .expect("acknowledged")
                        .push((table, name));
                    return;
                }
                Answer::RetryAfter(wait) => tokio::time::sleep(wait).await,
                Answer::Wrong => return,
            }
        }
    }

    /// Sends one request, records what came back, and judges it.
    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let phase = self.phase.load(Ordering::SeqCst);
        let sent = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                self.violation(format!("[{}] no answer: {err}", PHASES[phase]));
                return Answer::Wrong;
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        self.outcomes.lock().expect("outcomes").push(Outcome {
            phase,
            status,
            latency: sent.elapsed(),
        });
        if (200..300).contains(&status) {
            return Answer::Success;
        }
        let request_id = headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok());
        let well_formed = matches!(status, 503 | 504)
            && body["status"] == status
            && body["detail"].is_string()
            && request_id.is_some_and(|id| !id.is_empty() && body["request_id"] == id);
        if !well_formed {
            self.violation(format!(
                "[{}] {status} {request_id:?}: {body}",
                PHASES[phase]
            ));
            return Answer::Wrong;
        }
        let retry_after = headers
            .get("retry-after")
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(1);
        Answer::RetryAfter(Duration::from_secs(retry_after))
    }

    fn violation(&self, what: String) {
        self.violations.lock().expect("violations").push(what);
    }

    /// How long after `back` (the database reachable again) a fresh read first succeeds;
    /// a new one is sent every 25 ms so no single slow request hides the moment.
    async fn recovery(&self, back: Instant) -> Duration {
        let mut probes = JoinSet::new();
        let mut tick = tokio::time::interval(Duration::from_millis(25));
        while back.elapsed() < Duration::from_secs(15) {
            tokio::select! {
                _ = tick.tick() => {
                    let load = self.clone();
                    probes.spawn(async move {
                                matches!(load.send(load.list_todos()).await, Answer::Success)
                            .then(Instant::now)
                    });
                }
                Some(Ok(Some(done))) = probes.join_next() => {
                    probes.detach_all();
                    return done - back;
                }
            }
        }
        Duration::MAX
    }

    /// The summary: requests, outcomes per status, worst latency and recovery per phase.
    fn report(&self, recovery: &[(&str, Duration)]) -> String {
        let outcomes = self.outcomes.lock().expect("outcomes");
        let mut statuses: Vec<u16> = outcomes.iter().map(|o| o.status).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let mut table = format!(
            "\nchaos summary\n| phase | requests | {} | worst latency | recovery |\n|---|---:|{}---:|---:|\n",
            statuses
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" | "),
            "---:|".repeat(statuses.len())
        );
        let recovered: HashMap<&str, Duration> = recovery.iter().copied().collect();
        for (phase, name) in PHASES.iter().enumerate() {
            let seen: Vec<&Outcome> = outcomes.iter().filter(|o| o.phase == phase).collect();
            let mut per_status = BTreeMap::new();
            for outcome in &seen {
                *per_status.entry(outcome.status).or_insert(0usize) += 1;
            }
            let worst = seen.iter().map(|o| o.latency).max().unwrap_or_default();
            table += &format!(
                "| {name} | {} | {} | {worst:.2?} | {} |\n",
                seen.len(),
                statuses
                    .iter()
                    .map(|s| per_status.get(s).copied().unwrap_or(0).to_string())
                    .collect::<Vec<_>>()
                    .join(" | "),
                recovered
                    .get(name)
                    .map_or("-".to_owned(), |took| format!("{took:.2?}"))
            );
        }
        let acknowledged = self.acknowledged.lock().expect("acknowledged").len();
        table + &format!("acknowledged writes: {acknowledged}\n")
    }

    /// Every acknowledged todo and expense is stored exactly once, with its one split;
    /// nothing the clients wrote is stored twice.
    async fn assert_each_acknowledged_write_stored_once(&self, cluster: &Cluster) {
        let db = cluster.admin("flatmates").await;
        let acknowledged = self.acknowledged.lock().expect("acknowledged").clone();
        assert!(
            acknowledged.len() > 50,
            "too few writes to prove anything: {}",
            acknowledged.len()
        );
        for (table, column) in [("todos", "title"), ("expenses", "description")] {
            let stored = stored_counts(&db, table, column, self.household).await;
            let expected: BTreeMap<String, i64> = acknowledged
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, name)| (name.clone(), 1))
                .collect();
            assert_eq!(
                stored, expected,
                "{table}: stored rows per acknowledged write"
            );
        }
        let splits = stored_counts_sql(
            &db,
            &format!(
                "SELECT e.description, count(s.id) FROM expenses e \
                 LEFT JOIN expense_splits s ON s.expense_id = e.id \
                 WHERE e.household_id = '{}' GROUP BY e.id, e.description",
                self.household
            ),
        )
        .await;
        assert!(
            splits.values().all(|count| *count == 1),
            "each expense has its one member's split: {splits:?}"
        );
    }
}

async fn stored_counts(
    db: &DatabaseConnection,
    table: &str,
    column: &str,
    household: uuid::Uuid,
) -> BTreeMap<String, i64> {
    stored_counts_sql(
        db,
        &format!(
            "SELECT {column}, count(*) FROM {table} WHERE household_id = '{household}' GROUP BY {column}"
        ),
    )
    .await
}

async fn stored_counts_sql(db: &DatabaseConnection, sql: &str) -> BTreeMap<String, i64> {
    db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("count stored rows")
        .iter()
        .map(|row| {
            (
                row.try_get_by_index::<String>(0).expect("name"),
                row.try_get_by_index::<i64>(1).expect("count"),
            )
        })
        .collect()
}
