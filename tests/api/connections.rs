//! What a client can hold: the real binary on a real port, against connections that send
//! nothing, send a head one byte at a time, stay idle after a request, or take every slot,
//! while a normal client is still served.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::harness::{Service, TestDb, http};

const REQUEST: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n";

async fn service(vars: &[(&str, &str)]) -> (Service, TestDb) {
    let db = TestDb::new().await;
    let service = Service::start(&db.url, vars).await;
    (service, db)
}

async fn connect(service: &Service) -> TcpStream {
    let addr = service.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connects")
}

/// Reads until the server closes the connection (or `limit` passes); answers how long
/// that took, `None` if it stayed open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

async fn live_is_ok(service: &Service) {
    let response = http()
        .get(service.url("/health/live"))
        .send()
        .await
        .expect("a normal client is answered");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let (service, _db) = service(&[
        ("HEADER_READ_TIMEOUT_SECONDS", "1.5"),
        ("KEEP_ALIVE_TIMEOUT_SECONDS", "30"),
    ])
    .await;
    let mut silent = connect(&service).await;
    live_is_ok(&service).await;
    let took = closed_within(&mut silent, Duration::from_secs(10))
        .await
        .expect("the silent connection is closed");
    assert!(took >= Duration::from_secs(1), "closed early: {took:?}");
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_cut_at_the_header_read_timeout() {
    let (service, _db) = service(&[
        ("HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("KEEP_ALIVE_TIMEOUT_SECONDS", "30"),
    ])
    .await;
    let mut slow = connect(&service).await;
    let started = Instant::now();
    let mut cut = None;
    for (sent, byte) in REQUEST.iter().cycle().take(200).enumerate() {
        if slow.write_all(&[*byte]).await.is_err() {
            cut = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(200), slow.read(&mut buf)).await
        {
            cut = Some(started.elapsed());
            break;
        }
        if sent == 3 {
            live_is_ok(&service).await;
        }
    }
    let cut = cut.expect("the slow head was cut");
    assert!(
        cut < Duration::from_secs(5),
        "cut only after {cut:?} (header timeout 1 s, keep-alive 30 s)"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_waits_the_keep_alive_timeout_not_the_header_one() {
    let (service, _db) = service(&[
        ("HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("KEEP_ALIVE_TIMEOUT_SECONDS", "3"),
    ])
    .await;
    let mut kept = connect(&service).await;
    kept.write_all(REQUEST).await.expect("request");
    let mut buf = [0u8; 4096];
    let n = kept.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    assert_eq!(
        closed_within(&mut kept, Duration::from_secs(2)).await,
        None,
        "an idle kept-alive connection outlives the header timeout"
    );
    kept.write_all(REQUEST).await.expect("second request");
    let n = kept.read(&mut buf).await.expect("second answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "reused");
    let took = closed_within(&mut kept, Duration::from_secs(10))
        .await
        .expect("closed after the keep-alive timeout");
    assert!(took >= Duration::from_secs(2), "closed after {took:?}");
}

#[tokio::test]
async fn with_every_slot_held_a_new_client_is_served_once_one_frees() {
    let (service, _db) = service(&[
        ("MAX_CONNECTIONS", "2"),
        ("HEADER_READ_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let holders = [connect(&service).await, connect(&service).await];
    let started = Instant::now();
    live_is_ok(&service).await;
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "served at once although both slots were held: {:?}",
        started.elapsed()
    );
    drop(holders);
}

/// hyper answers HTTP it cannot parse before the app runs; this pins down what the client
/// gets then (the README says so), and that the service goes on serving.
#[tokio::test]
async fn malformed_http_gets_hypers_400_with_an_empty_body_and_a_close() {
    let (service, _db) = service(&[]).await;
    for raw in [
        &b"POST /api/v1/todos HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"[..],
        b"POST /api/v1/todos HTTP/1.1\r\nHost: t\r\nContent-Length: 1e20\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ] {
        let mut stream = connect(&service).await;
        stream.write_all(raw).await.expect("sent");
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("answered and closed")
            .expect("read");
        let answer = String::from_utf8_lossy(&answer).to_lowercase();
        assert!(answer.starts_with("http/1.1 400 bad request\r\n"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
        assert!(answer.contains("content-length: 0"), "{answer}");
    }
    live_is_ok(&service).await;
}

#[tokio::test]
async fn more_silent_connections_than_the_file_limit_allows_do_not_stop_service() {
    let db = TestDb::new().await;
    let mut service =
        Service::start_with_file_limit(&db.url, &[("HEADER_READ_TIMEOUT_SECONDS", "1")], 200).await;
    let capped = service
        .wait_for_line(
            |line| line.contains("the open-file limit caps client connections"),
            Duration::from_secs(5),
        )
        .await;
    assert!(capped.contains("\"allowed\":72"), "{capped}");
    // More than the process could hold open at once: the cap keeps the rest in the backlog
    // instead of failing accept with EMFILE, and the held ones time out.
    let mut silent = Vec::new();
    for _ in 0..250 {
        silent.push(connect(&service).await);
    }
    let started = Instant::now();
    live_is_ok(&service).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "served only after {:?}",
        started.elapsed()
    );
    drop(silent);
    live_is_ok(&service).await;
}
