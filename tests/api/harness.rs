//! The one test harness: a fresh database per test (a SQLite file, or a PostgreSQL database
//! when `TEST_DATABASE_URL` is set), the app built by `build_app`, and the real binary on a
//! real port for what only a process can show.

use std::{
    collections::HashMap,
    net::SocketAddr,
    os::unix::fs::MetadataExt,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use flatmates::{build_app, config::Settings, db::Db, state::AppState};
use poem::{EndpointExt, IntoEndpoint, Response, endpoint::BoxEndpoint, test::TestClient};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
};

/// PostgreSQL when `TEST_DATABASE_URL` is set (CI sets it), SQLite otherwise.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

pub fn on_postgres() -> bool {
    postgres_url().is_some()
}

/// A database of the test's own, removed when the test ends.
pub struct TestDb {
    pub url: String,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> Self {
        match postgres_url() {
            Some(admin) => {
                let name = format!("t_{}", uuid::Uuid::new_v4().simple());
                admin_exec(&admin, &format!("CREATE DATABASE {name}")).await;
                let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    postgres_name: Some(name),
                    _dir: None,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("test.db");
                Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    postgres_name: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    /// The same database reached through `addr` (the fault proxy) instead of directly.
    pub fn url_through(&self, addr: SocketAddr) -> String {
        let mut url = url::Url::parse(&self.url).expect("database URL");
        url.set_host(Some(&addr.ip().to_string())).expect("host");
        url.set_port(Some(addr.port())).expect("port");
        url.to_string()
    }

    pub fn name(&self) -> Option<&str> {
        self.postgres_name.as_deref()
    }

    pub fn backend(&self) -> DbBackend {
        if self.postgres_name.is_some() {
            DbBackend::Postgres
        } else {
            DbBackend::Sqlite
        }
    }

    /// Runs `sql` directly, outside the service, for setting up and checking rows.
    pub async fn exec(&self, sql: &str) {
        let conn = Database::connect(&self.url).await.expect("connect");
        conn.execute_unprepared(sql).await.expect("execute");
        conn.close().await.expect("close");
    }

    /// The first column of every row of `sql`, as text.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        let conn = Database::connect(&self.url).await.expect("connect");
        let rows = conn
            .query_all_raw(Statement::from_string(self.backend(), sql))
            .await
            .expect("query");
        conn.close().await.expect("close");
        rows.iter()
            .map(|row| row.try_get_by_index::<String>(0).expect("text column"))
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (Some(name), Some(admin)) = (self.postgres_name.take(), postgres_url()) else {
            return;
        };
        // Drop runs outside any runtime we may block on, so use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(admin_exec(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ));
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop a test database");
        }
    }
}

async fn admin_exec(admin_url: &str, sql: &str) {
    let conn = Database::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    conn.execute_unprepared(sql).await.expect("admin statement");
    conn.close().await.expect("close");
}

/// Settings as the service would read them, with `vars` on top of the test defaults.
pub fn settings(database_url: &str, vars: &[(&str, &str)]) -> Settings {
    // What `main` does at start; every test's clients are built after its settings.
    flatmates::install_tls_provider();
    let mut map: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.to_owned()),
        ("ENVIRONMENT".into(), "development".into()),
    ]);
    map.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Settings::from_lookup(|name| map.get(name).cloned()).expect("test settings are valid")
}

/// The app in process, over its own migrated database.
pub struct TestApp {
    pub client: TestClient<BoxEndpoint<'static, Response>>,
    pub state: AppState,
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        let db = TestDb::new().await;
        Self::on(db, vars).await
    }

    /// The app over an existing database, connected directly, migrated.
    pub async fn on(db: TestDb, vars: &[(&str, &str)]) -> Self {
        let url = db.url.clone();
        Self::on_url(db, &url, vars).await
    }

    /// The app over `db` reached at `url` (through the fault proxy, say), migrated.
    pub async fn on_url(db: TestDb, url: &str, vars: &[(&str, &str)]) -> Self {
        let settings = settings(url, vars);
        let state = state_for(settings).await;
        state.db.migrate().await.expect("migrations apply");
        state.mark_migrated();
        Self {
            client: TestClient::new(build_app(state.clone())),
            state,
            db,
        }
    }
}

pub async fn state_for(settings: Settings) -> AppState {
    let db = Db::connect(&settings.database)
        .await
        .expect("pool builds lazily");
    AppState::new(settings, db).expect("the HTTP client builds")
}

/// Any endpoint (a test's own) wrapped in the service's real middleware stack.
pub fn with_stack<E>(endpoint: E) -> TestClient<BoxEndpoint<'static, Response>>
where
    E: IntoEndpoint + 'static,
    E::Endpoint: 'static,
{
    let settings = settings("sqlite::memory:", &[]);
    let stack =
        flatmates::middleware::stack(endpoint, &settings, Default::default(), Default::default());
    TestClient::new(stack.boxed())
}

/// The real binary on a real port, with its stdout lines readable by the test.
pub struct Service {
    pub child: Child,
    pub base: String,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Service {
    /// Starts `flatmates serve` on 127.0.0.1 with an OS-chosen port, JSON logs, and `vars`.
    pub async fn start(database_url: &str, vars: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_flatmates"));
        command.arg("serve").current_dir(std::env::temp_dir());
        Self::launch(command, database_url, vars).await
    }

    /// As [`Service::start`], as the container image runs it: in `workdir`, as the image's
    /// unprivileged user (see [`as_image_user`]).
    pub async fn start_as_image_user(
        database_url: &str,
        workdir: &Path,
        vars: &[(&str, &str)],
    ) -> Self {
        let mut command = as_image_user(workdir);
        command.arg("serve");
        Self::launch(command, database_url, vars).await
    }

    /// As [`Service::start`], with the process allowed at most `files` open files (soft and
    /// hard limit), through util-linux's `prlimit`.
    pub async fn start_with_file_limit(
        database_url: &str,
        vars: &[(&str, &str)],
        files: u64,
    ) -> Self {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={files}:{files}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_flatmates"))
            .arg("serve")
            .current_dir(std::env::temp_dir());
        Self::launch(command, database_url, vars).await
    }

    async fn launch(mut command: Command, database_url: &str, vars: &[(&str, &str)]) -> Self {
        command
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .env("LOG_LEVEL", "info")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut service = Self {
            child,
            base: String::new(),
            lines: rx,
            seen: Vec::new(),
        };
        let listening = service
            .wait_for_line(
                |line| line.contains("\"listening\""),
                Duration::from_secs(20),
            )
            .await;
        let addr = serde_json::from_str::<serde_json::Value>(&listening)
            .ok()
            .and_then(|v| v["fields"]["addr"].as_str().map(str::to_owned))
            .expect("listening line names the address");
        service.base = format!("http://{}", addr.trim_start_matches("socket://"));
        service
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits for a stdout line matching `pred`, returning it.
    pub async fn wait_for_line(&mut self, pred: impl Fn(&str) -> bool, within: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|line| pred(line)) {
            return line.clone();
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Ok(None) => panic!("the service exited; its output: {:#?}", self.seen),
                Err(_) => panic!("no matching line in time; output so far: {:#?}", self.seen),
            }
        }
    }

    /// Every line written so far (waiting briefly for stragglers).
    pub async fn lines(&mut self) -> Vec<String> {
        while let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_millis(300), self.lines.recv()).await
        {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    pub fn terminate(&self) {
        let pid = self.child.id().expect("still running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

/// The uid and gid the binary runs as under [`as_image_user`] when the tests run as root:
/// `nobody`'s, which owns nothing.
const IMAGE_USER_ID: u32 = 65534;

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|proc| proc.uid() == 0)
}

/// The binary as the container image runs it: not root, in `workdir`, with no environment
/// but what the caller adds. When the tests run as root (as CI's do) it is `nobody`,
/// through util-linux's `setpriv`; otherwise the user running the tests, who is not root
/// either.
pub fn as_image_user(workdir: &Path) -> Command {
    let mut command = if running_as_root() {
        let id = IMAGE_USER_ID.to_string();
        let mut setpriv = Command::new("setpriv");
        setpriv
            .arg(format!("--reuid={id}"))
            .arg(format!("--regid={id}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_flatmates"));
        setpriv
    } else {
        Command::new(env!("CARGO_BIN_EXE_flatmates"))
    };
    command.env_clear().current_dir(workdir);
    command
}

/// Makes `path` the image user's, as the image's `chown` does for its volume; when the
/// tests do not run as root, it is theirs already.
pub fn give_to_image_user(path: &Path) {
    if running_as_root() {
        std::os::unix::fs::chown(path, Some(IMAGE_USER_ID), Some(IMAGE_USER_ID))
            .expect("chown to the image user");
    }
}

/// An HTTP client for talking to the binary.
pub fn http() -> reqwest::Client {
    flatmates::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// Polls `url` until it answers `status`, for states the service reaches in the background.
pub async fn wait_for_status(client: &reqwest::Client, url: &str, status: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().as_u16() == status
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer {status} in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A user row of the test's own and a token the service accepts for it.
pub struct TestUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub token: String,
}

impl TestApp {
    /// Inserts an active user and mints their token with the app's secret.
    pub async fn user(&self, name: &str) -> TestUser {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let now = chrono::Utc::now().naive_utc();
        let id = uuid::Uuid::new_v4();
        let email = format!("{name}.{}@example.com", &id.simple().to_string()[..8]);
        entities::user::ActiveModel {
            id: Set(id),
            email: Set(email.clone()),
            full_name: Set(name.to_owned()),
            google_id: Set(format!("google-{id}")),
            profile_picture_url: Set(None),
            is_active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.state.db.connection())
        .await
        .expect("insert user");
        let token = flatmates::auth::jwt::issue(
            id,
            &self.state.settings.secret_key,
            Duration::from_secs(3600),
        )
        .expect("token");
        TestUser { id, email, token }
    }

    /// Sends `method path` as `user` (none: anonymous) with an optional JSON body; answers
    /// the status and the JSON body (`Null` when there is none).
    pub async fn call(
        &self,
        method: poem::http::Method,
        path: &str,
        user: Option<&TestUser>,
        body: Option<serde_json::Value>,
    ) -> (poem::http::StatusCode, serde_json::Value) {
        let mut request = self.client.request(method, path);
        if let Some(user) = user {
            request = request.header("Authorization", format!("Bearer {}", user.token));
        }
        if let Some(body) = body {
            request = request.body_json(&body);
        }
        let response = request.send().await;
        let status = response.0.status();
        let bytes = response.0.into_body().into_bytes().await.expect("body");
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, json)
    }

    pub async fn get(
        &self,
        path: &str,
        user: &TestUser,
    ) -> (poem::http::StatusCode, serde_json::Value) {
        self.call(poem::http::Method::GET, path, Some(user), None)
            .await
    }

    pub async fn post(
        &self,
        path: &str,
        user: &TestUser,
        body: serde_json::Value,
    ) -> (poem::http::StatusCode, serde_json::Value) {
        self.call(poem::http::Method::POST, path, Some(user), Some(body))
            .await
    }

    pub async fn put(
        &self,
        path: &str,
        user: &TestUser,
        body: serde_json::Value,
    ) -> (poem::http::StatusCode, serde_json::Value) {
        self.call(poem::http::Method::PUT, path, Some(user), Some(body))
            .await
    }

    pub async fn patch(
        &self,
        path: &str,
        user: &TestUser,
        body: serde_json::Value,
    ) -> (poem::http::StatusCode, serde_json::Value) {
        self.call(poem::http::Method::PATCH, path, Some(user), Some(body))
            .await
    }

    pub async fn delete(
        &self,
        path: &str,
        user: &TestUser,
    ) -> (poem::http::StatusCode, serde_json::Value) {
        self.call(poem::http::Method::DELETE, path, Some(user), None)
            .await
    }

    /// A household created by `owner` through the API; answers its id.
    pub async fn household(&self, owner: &TestUser, name: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/households",
                owner,
                serde_json::json!({"name": name}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// `user` joins `household_id` through a public invite made by `owner`.
    pub async fn join(&self, owner: &TestUser, household_id: &str, user: &TestUser) {
        let (status, invite) = self
            .post(
                &format!("/api/v1/households/{household_id}/invite/public"),
                owner,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200, "{invite}");
        let (status, body) = self
            .post(
                "/api/v1/households/join",
                user,
                serde_json::json!({"token": invite["token"]}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// A second replica of the service on this app's database, with these settings.
    pub async fn replica(
        &self,
        vars: &[(&str, &str)],
    ) -> TestClient<BoxEndpoint<'static, Response>> {
        let replica = state_for(settings(&self.db.url, vars)).await;
        TestClient::new(build_app(replica))
    }

    /// The number of rows `sql` (a `SELECT COUNT(*) ...` cast to text) counts.
    pub async fn count(&self, sql: &str) -> i64 {
        self.db.strings(sql).await[0].parse().expect("a count")
    }
}

/// A household with its owner (Olive) and one more member (Max).
pub struct Flat {
    pub app: TestApp,
    pub owner: TestUser,
    pub member: TestUser,
    pub household: String,
}

pub async fn flat() -> Flat {
    flat_with(&[]).await
}

/// `flat()` on an app with these settings.
pub async fn flat_with(vars: &[(&str, &str)]) -> Flat {
    let app = TestApp::spawn_with(vars).await;
    let owner = app.user("Olive").await;
    let member = app.user("Max").await;
    let household = app.household(&owner, "Flat 1").await;
    app.join(&owner, &household, &member).await;
    Flat {
        app,
        owner,
        member,
        household,
    }
}
