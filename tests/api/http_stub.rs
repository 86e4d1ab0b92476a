//! A small HTTP/1.1 server on a loopback port standing in for a remote service (Sentry's
//! ingest host, Google's key set endpoint): it answers every request with the response
//! the test sets, and hands each request body to the test.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::mpsc,
};

#[derive(Clone)]
pub struct StubResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// How long to wait before answering (a slow provider).
    pub delay: Duration,
}

impl StubResponse {
    pub fn json(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

pub struct HttpStub {
    pub base: String,
    response: Arc<Mutex<StubResponse>>,
    requests: Arc<AtomicUsize>,
    bodies: mpsc::UnboundedReceiver<String>,
}

impl HttpStub {
    pub async fn start(response: StubResponse) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let response = Arc::new(Mutex::new(response));
        let requests = Arc::new(AtomicUsize::new(0));
        let (tx, bodies) = mpsc::unbounded_channel();
        let (shared, counter) = (response.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone(), counter.clone(), tx.clone()));
            }
        });
        Self {
            base,
            response,
            requests,
            bodies,
        }
    }

    pub fn set_response(&self, response: StubResponse) {
        *self.response.lock().expect("stub state") = response;
    }

    /// How many requests have been answered.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The next request body containing `needle`.
    pub async fn body_containing(&mut self, needle: &str) -> Option<String> {
        while let Some(body) = self.bodies.recv().await {
            if body.contains(needle) {
                return Some(body);
            }
        }
        None
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    response: Arc<Mutex<StubResponse>>,
    requests: Arc<AtomicUsize>,
    bodies: mpsc::UnboundedSender<String>,
) {
    let mut stream = BufReader::new(stream);
    loop {
        let mut content_length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; content_length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let reply = response.lock().expect("stub state").clone();
        requests.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(reply.delay).await;
        let _ = bodies.send(String::from_utf8_lossy(&body).into_owned());
        let mut head = format!(
            "HTTP/1.1 {} Stub\r\ncontent-length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let written = stream.get_mut().write_all(head.as_bytes()).await;
        if written.is_err()
            || stream
                .get_mut()
                .write_all(reply.body.as_bytes())
                .await
                .is_err()
        {
            return;
        }
    }
}
