//! A TCP proxy between the service and PostgreSQL that stages what a serverless database
//! does to its clients: holding new connections while a compute wakes, refusing them,
//! swallowing them (a black hole), and cutting every live connection.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
    time::Instant,
};

#[derive(Clone, Copy, Debug)]
enum Mode {
    Forward,
    /// New connections wait until this instant (the compute is up), then are forwarded.
    HoldUntil(Instant),
    /// New connections are accepted and read, but nothing is forwarded.
    BlackHole,
}

struct Shared {
    mode: Mode,
    refuse_until: Option<Instant>,
    /// The next client message holding these bytes reaches the server, but its answer
    /// never reaches the client.
    lose_answer_to: Option<&'static [u8]>,
    connections: Vec<JoinHandle<()>>,
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
        state.connections.retain(|task| !task.is_finished());
        state
            .connections
            .push(tokio::spawn(serve(client, upstream, mode, shared.clone())));
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    mode: Mode,
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
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = from_client.read(&mut buf).await {
                let chunk = &buf[..n];
                if n == 0 || to_server.write_all(chunk).await.is_err() {
                    return;
                }
                let lose = {
                    let mut shared = shared.lock().expect("proxy state");
                    let marked = shared
                        .lose_answer_to
                        .is_some_and(|marker| chunk.windows(marker.len()).any(|w| w == marker));
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
