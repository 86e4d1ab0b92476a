//! A TCP proxy between the service and PostgreSQL that stages what a serverless database
//! does to its clients: holding new connections while a compute wakes, refusing them,
//! swallowing them (a black hole), cutting every live connection, and connections that go
//! silent without closing (a hung compute, a middlebox that lost the flow).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::harness::{TestApp, TestDb, on_postgres};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
    time::Instant,
};

/// A test app whose database is reached through a fresh proxy, its pool warmed; `None`
/// (the test skips) without PostgreSQL.
pub async fn app_behind_proxy(vars: &[(&str, &str)]) -> Option<(TestApp, FaultProxy)> {
    app_behind_proxy_over("", vars).await
}

/// `url_query` is appended to the database URL, e.g. `?sslmode=disable` so the proxy can
/// see the protocol go by.
pub async fn app_behind_proxy_over(
    url_query: &str,
    vars: &[(&str, &str)],
) -> Option<(TestApp, FaultProxy)> {
    if !on_postgres() {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE_URL unset)");
        return None;
    }
    let db = TestDb::new().await;
    let proxy = FaultProxy::for_postgres(&db.url).await;
    let url = format!("{}{url_query}", db.url_through(proxy.addr()));
    let app = TestApp::on_url(db, &url, vars).await;
    app.client
        .get("/health/deep")
        .send()
        .await
        .assert_status_is_ok();
    Some((app, proxy))
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Forward,
    /// New connections wait until this instant (the compute is up), then are forwarded.
    HoldUntil(Instant),
    /// New connections are accepted and read, but nothing is forwarded.
    BlackHole,
}

/// Connections opened before `below` relay nothing until `until` (for good when `None`).
#[derive(Clone, Copy, Debug)]
struct Stall {
    below: u64,
    until: Option<Instant>,
}

/// What becomes of a message that a stalled connection sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Silence {
    /// Never forwarded: the server never sees it (a `COMMIT`: it waits in the transaction).
    Held,
    /// Forwarded and carried out, but the answer never comes back.
    Unanswered,
}

struct Shared {
    mode: Mode,
    refuse_until: Option<Instant>,
    /// The next client message holding these bytes reaches the server, but its answer
    /// never reaches the client.
    lose_answer_to: Option<&'static [u8]>,
    /// The next connection to send these bytes goes silent at its next `COMMIT`.
    stall_commit_after: Option<(&'static [u8], Silence)>,
    /// The next message holding these bytes is silenced, and its connection with it.
    silence: Option<(&'static [u8], Silence)>,
    stall: Option<Stall>,
    next_id: u64,
    connections: Vec<JoinHandle<()>>,
}

impl Shared {
    /// How long connection `id` must stay silent from now: `None` when it may relay.
    fn stalled(&self, id: u64) -> Option<Option<Instant>> {
        self.stall
            .filter(|stall| id < stall.below && stall.until.is_none_or(|t| Instant::now() < t))
            .map(|stall| stall.until)
    }
}

/// The relay's pause while its connection is stalled: the bytes sent to it stay unread in
/// the kernel's buffers, nothing is answered, nothing is closed.
async fn while_stalled(shared: &Mutex<Shared>, id: u64) {
    loop {
        let stalled = shared.lock().expect("proxy state").stalled(id);
        match stalled {
            None => return,
            Some(Some(until)) => tokio::time::sleep_until(until).await,
            Some(None) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    accept_loop: JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Mutex::new(Shared {
            mode: Mode::Forward,
            refuse_until: None,
            lose_answer_to: None,
            stall_commit_after: None,
            silence: None,
            stall: None,
            next_id: 0,
            connections: Vec::new(),
        }));
        let accept_loop = tokio::spawn(accept_loop(listener, addr, upstream, shared.clone()));
        Self {
            addr,
            shared,
            accept_loop,
        }
    }

    /// The proxy in front of the PostgreSQL of `TEST_DATABASE_URL`.
    pub async fn for_postgres(database_url: &str) -> Self {
        let url = url::Url::parse(database_url).expect("database URL");
        let host = url.host_str().expect("host");
        let port = url.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host, port))
            .await
            .expect("resolve PostgreSQL")
            .next()
            .expect("an address");
        Self::start(upstream).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn forward(&self) {
        self.shared.lock().expect("proxy state").mode = Mode::Forward;
    }

    /// The database is asleep and wakes `delay` from now: new connections wait until then
    /// before they are forwarded, however late in the wake they arrive.
    pub fn hold_new_connections(&self, delay: Duration) {
        self.shared.lock().expect("proxy state").mode = Mode::HoldUntil(Instant::now() + delay);
    }

    pub fn black_hole(&self) {
        self.shared.lock().expect("proxy state").mode = Mode::BlackHole;
    }

    /// Closes the listening socket so connections are refused, reopening it after `period`.
    pub fn refuse_for(&self, period: Duration) {
        self.shared.lock().expect("proxy state").refuse_until = Some(Instant::now() + period);
        // Wake the accept loop with a throwaway connection so it notices at once.
        let addr = self.addr;
        tokio::spawn(async move {
            let _ = TcpStream::connect(addr).await;
        });
    }

    /// The next client message holding `marker` (`COMMIT`, or a parameter of a statement)
    /// is forwarded, then its connection is cut before the server's answer comes back: the
    /// server did the work, but the client cannot know.
    pub fn lose_next_answer_to(&self, marker: &'static [u8]) {
        self.shared.lock().expect("proxy state").lose_answer_to = Some(marker);
    }

    /// Every connection open now goes silent for good: what the service sends is taken and
    /// never answered, and nothing is closed. New connections are forwarded as usual.
    pub fn stall_open_connections(&self) {
        self.stall(None);
    }

    /// Every connection open now goes silent for `period`, then relays what it was sent.
    pub fn stall_open_connections_for(&self, period: Duration) {
        self.stall(Some(Instant::now() + period));
    }

    fn stall(&self, until: Option<Instant>) {
        let mut shared = self.shared.lock().expect("proxy state");
        shared.stall = Some(Stall {
            below: shared.next_id,
            until,
        });
    }

    /// The next connection to send a message holding `marker` goes silent for good when it
    /// next sends `COMMIT`, which is `commit`: held back, or forwarded with no answer.
    pub fn stall_commit_after(&self, marker: &'static [u8], commit: Silence) {
        self.shared.lock().expect("proxy state").stall_commit_after = Some((marker, commit));
    }

    /// The next message holding `marker` (a statement's parameter) is `silence`: held back,
    /// or forwarded with no answer; either way its connection goes silent for good.
    pub fn silence_next(&self, marker: &'static [u8], silence: Silence) {
        self.shared.lock().expect("proxy state").silence = Some((marker, silence));
    }

    /// Drops every connection in flight, as a suspended compute does.
    pub fn cut_all(&self) {
        let mut shared = self.shared.lock().expect("proxy state");
        for connection in shared.connections.drain(..) {
            connection.abort();
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
        self.cut_all();
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Mutex<Shared>>,
) {
    loop {
        let refuse_until = shared.lock().expect("proxy state").refuse_until.take();
        if let Some(until) = refuse_until {
            drop(listener);
            tokio::time::sleep_until(until).await;
            listener = loop {
                match TcpListener::bind(addr).await {
                    Ok(listener) => break listener,
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            };
            continue;
        }
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let mut state = shared.lock().expect("proxy state");
        if state.refuse_until.is_some() {
            continue;
        }
        let mode = state.mode;
        let id = state.next_id;
        state.next_id += 1;
        state.connections.retain(|task| !task.is_finished());
        state.connections.push(tokio::spawn(serve(
            client,
            upstream,
            mode,
            id,
            shared.clone(),
        )));
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    mode: Mode,
    id: u64,
    shared: Arc<Mutex<Shared>>,
) {
    match mode {
        Mode::Forward => {}
        Mode::HoldUntil(awake) => tokio::time::sleep_until(awake).await,
        Mode::BlackHole => {
            let mut sink = [0u8; 1024];
            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
            return;
        }
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let cutting = Arc::new(AtomicBool::new(false));
    let upstream_half = {
        let cutting = cutting.clone();
        let shared = shared.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut commit_stall = None;
            while let Ok(n) = from_client.read(&mut buf).await {
                let chunk = &buf[..n];
                while_stalled(&shared, id).await;
                if commit_stall.is_none() {
                    let mut shared = shared.lock().expect("proxy state");
                    if let Some((marker, commit)) = shared.stall_commit_after
                        && contains(chunk, marker)
                    {
                        shared.stall_commit_after = None;
                        commit_stall = Some(commit);
                    }
                }
                let silenced = {
                    let mut shared = shared.lock().expect("proxy state");
                    match shared.silence {
                        Some((marker, silence)) if contains(chunk, marker) => {
                            shared.silence = None;
                            Some(silence)
                        }
                        _ => None,
                    }
                };
                let silent = silenced.or(commit_stall.filter(|_| contains(chunk, b"COMMIT")));
                if silent == Some(Silence::Held) {
                    std::future::pending::<()>().await;
                }
                if n == 0 || to_server.write_all(chunk).await.is_err() {
                    return;
                }
                if silent == Some(Silence::Unanswered) {
                    cutting.store(true, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                }
                let lose = {
                    let mut shared = shared.lock().expect("proxy state");
                    let marked = shared
                        .lose_answer_to
                        .is_some_and(|marker| contains(chunk, marker));
                    marked && shared.lose_answer_to.take().is_some()
                };
                if lose {
                    cutting.store(true, Ordering::SeqCst);
                    // Give the server time to do the work before the connection goes.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    return;
                }
            }
        }
    };
    let downstream_half = async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = from_server.read(&mut buf).await {
            while_stalled(&shared, id).await;
            if n == 0 || cutting.load(Ordering::SeqCst) {
                // Once cutting, the answer is swallowed; the upstream half ends the relay.
                if n == 0 {
                    return;
                }
                continue;
            }
            if to_client.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = upstream_half => {}
        () = downstream_half => {}
    }
}

fn contains(chunk: &[u8], marker: &[u8]) -> bool {
    chunk.windows(marker.len()).any(|w| w == marker)
}
