//! The HTTP server loop: hyper serving the app, with the limits a production server keeps so
//! that no client can hold the service. A new connection must send its first request's whole
//! head within the header-read timeout, and so must a kept-alive one once a request's first
//! byte arrives (a slowloris client, or one that connects and says nothing, is closed); a
//! kept-alive connection waiting for its next request is closed after the keep-alive
//! timeout; at most
//! `MAX_CONNECTIONS` are open at once, fewer than the process may open files; and a failed
//! accept (EMFILE, ENFILE) is logged and backed off instead of retried in a tight loop.
//!
//! hyper's own header timer cannot tell a slow head from an idle keep-alive connection (it
//! closes both alike), so both timers live here, driven by what the connection reads and
//! by the requests it is serving.

use std::{
    convert::Infallible,
    future::Future,
    io,
    pin::{Pin, pin},
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use hyper::{body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use poem::{
    Endpoint, Response,
    endpoint::BoxEndpoint,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpListener,
    sync::{Notify, Semaphore},
    time::Instant,
};

/// File descriptors kept for everything but client connections: the database pool, log
/// files, outbound HTTPS (Google's keys, Sentry, the AI provider), the listener itself.
const RESERVED_FDS: u64 = 128;
const FIRST_ACCEPT_PAUSE: Duration = Duration::from_millis(10);
const MAX_ACCEPT_PAUSE: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
}

/// What a connection is doing, and since when: what its timeouts are measured against.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Kept alive after a request, waiting for the next one.
    Idle(Instant),
    /// Waiting for a request's head to be whole: since the connection opened, or since the
    /// first byte of a kept-alive connection's next request.
    Head(Instant),
    /// Serving this many requests; the request deadline bounds them.
    Busy(usize),
}

#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the connection's timer when the phase changes, so it waits for the right one.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase();
        let next = change(*phase);
        if std::mem::discriminant(&next) != std::mem::discriminant(&*phase) {
            self.changed.notify_one();
        }
        *phase = next;
    }

    fn read_some(&self) {
        self.update(|phase| match phase {
            Phase::Idle(_) => Phase::Head(Instant::now()),
            other => other,
        });
    }

    fn request_started(&self) {
        self.update(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
    }

    fn request_done(&self) {
        self.update(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }

    /// When the connection is to be closed if nothing changes; `None` while serving.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        match *self.phase() {
            Phase::Idle(since) => Some(since + limits.keep_alive_timeout),
            Phase::Head(since) => Some(since + limits.header_read_timeout),
            Phase::Busy(_) => None,
        }
    }
}

/// The client's stream, telling `Activity` when bytes arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    // hyper sends a response's head and body in one vectored write where the stream takes
    // them; told otherwise, it first copies every body into a buffer of its own.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Raises the soft limit on open files to the hard limit, and answers the connections that
/// fit under it: `wanted`, or fewer when the limit is lower.
pub fn connections_within_file_limit(wanted: usize) -> usize {
    let limit = raise_file_limit();
    let fit = usize::try_from(limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
    if fit < wanted {
        tracing::warn!(
            file_limit = limit,
            wanted,
            allowed = fit,
            "the open-file limit caps client connections below MAX_CONNECTIONS"
        );
    }
    wanted.min(fit).max(1)
}

/// The soft `RLIMIT_NOFILE` after raising it to the hard limit (or as it was, if that fails).
fn raise_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish for
/// up to `grace`.
pub async fn serve(
    listener: TcpListener,
    app: BoxEndpoint<'static, Response>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    let app = Arc::new(app);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The timers in `Activity` replace hyper's, which would otherwise default to 30 s.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    let builder = Arc::new(builder);
    let mut shutdown = pin!(shutdown);
    let mut pause = FIRST_ACCEPT_PAUSE;
    loop {
        // Waiting for a free slot before accepting leaves new clients in the kernel's
        // backlog, served as soon as a held connection times out.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    pause = FIRST_ACCEPT_PAUSE;
                    accepted
                }
                Err(err) => {
                    tracing::warn!(error = %err, pause_ms = pause.as_millis() as u64, "accept failed; pausing");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_ACCEPT_PAUSE);
                    continue;
                }
            },
        };
        let activity = Arc::new(Activity::new());
        let service = {
            let (app, activity) = (app.clone(), activity.clone());
            service_fn(move |req: hyper::Request<Incoming>| {
                let (app, activity) = (app.clone(), activity.clone());
                activity.request_started();
                async move {
                    let req = poem::Request::from((
                        req,
                        LocalAddr(local.into()),
                        RemoteAddr(remote.into()),
                        Scheme::HTTP,
                    ));
                    let response = app.get_response(req).await;
                    activity.request_done();
                    Ok::<_, Infallible>(hyper::Response::from(response))
                }
            })
        };
        let stream = Watched {
            inner: stream,
            activity: activity.clone(),
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            loop {
                let due = activity.deadline(&limits);
                let timer = async {
                    match due {
                        Some(due) => tokio::time::sleep_until(due).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    ended = &mut connection => {
                        if let Err(err) = ended {
                            tracing::debug!(error = %err, remote = %remote, "connection ended with an error");
                        }
                        break;
                    }
                    () = activity.changed.notified() => {}
                    () = timer => {
                        if activity.deadline(&limits).is_some_and(|due| due <= Instant::now()) {
                            tracing::debug!(remote = %remote, "closing a connection past its header-read or keep-alive timeout");
                            break;
                        }
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = grace.as_secs_f64(),
            "requests still open after the grace period"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_watched_stream_takes_vectored_writes_whole() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let client = tokio::net::TcpStream::connect(address);
        let (accepted, client) = tokio::join!(listener.accept(), client);
        let (server, _) = accepted.expect("accept");
        let mut watched = Watched {
            inner: server,
            activity: Arc::new(Activity::new()),
        };
        assert!(watched.is_write_vectored(), "hyper would copy every body");
        let parts = [io::IoSlice::new(b"head "), io::IoSlice::new(b"body")];
        let written = watched.write_vectored(&parts).await.expect("write");
        watched.shutdown().await.expect("shutdown");
        let mut received = String::new();
        client
            .expect("connect")
            .read_to_string(&mut received)
            .await
            .expect("read");
        assert_eq!(&"head body"[..written], received);
    }
}
