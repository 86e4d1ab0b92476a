//! Prometheus metrics: request counts and durations labelled by route template (never the
//! raw path, so ids cannot explode the label set), requests in progress, and the database
//! pool and retry figures. The figures are kept here; `requests` is the layer that counts
//! each request into them.

pub mod requests;

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use crate::db::Db;

/// Upper bounds of the duration histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The label for requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<(String, String), Histogram>>,
    in_progress: AtomicI64,
}

impl Metrics {
    pub fn started(&self) {
        self.in_progress.fetch_add(1, Ordering::Relaxed);
    }

    pub fn finished(&self, method: &str, endpoint: String, status: u16, took: Duration) {
        self.in_progress.fetch_sub(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_owned(), endpoint.clone(), status))
                .or_insert(0) += 1;
        }
        if let Ok(mut durations) = self.durations.lock() {
            let histogram = durations.entry((method.to_owned(), endpoint)).or_default();
            for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            histogram.sum += seconds;
            histogram.count += 1;
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self, db: &Db) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP http_requests_total HTTP requests by method, route template and status."
        );
        let _ = writeln!(out, "# TYPE http_requests_total counter");
        if let Ok(requests) = self.requests.lock() {
            for ((method, endpoint, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{method}\",endpoint=\"{endpoint}\",status_code=\"{status}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP http_request_duration_seconds HTTP request latency by method and route template."
        );
        let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
        if let Ok(durations) = self.durations.lock() {
            for ((method, endpoint), histogram) in durations.iter() {
                let labels = format!("method=\"{method}\",endpoint=\"{endpoint}\"");
                for (count, bound) in histogram.buckets.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    histogram.count
                );
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_sum{{{labels}}} {}",
                    histogram.sum
                );
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_count{{{labels}}} {}",
                    histogram.count
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP http_requests_in_progress HTTP requests being served."
        );
        let _ = writeln!(out, "# TYPE http_requests_in_progress gauge");
        let _ = writeln!(
            out,
            "http_requests_in_progress {}",
            self.in_progress.load(Ordering::Relaxed)
        );
        let (size, idle) = db.pool_size();
        let _ = writeln!(out, "# HELP db_pool_connections Open database connections.");
        let _ = writeln!(out, "# TYPE db_pool_connections gauge");
        let _ = writeln!(out, "db_pool_connections {size}");
        let _ = writeln!(
            out,
            "# HELP db_pool_idle_connections Open database connections not in use."
        );
        let _ = writeln!(out, "# TYPE db_pool_idle_connections gauge");
        let _ = writeln!(out, "db_pool_idle_connections {idle}");
        let _ = writeln!(
            out,
            "# HELP db_failing_fast 1 while requests fail fast because the database stayed away."
        );
        let _ = writeln!(out, "# TYPE db_failing_fast gauge");
        let _ = writeln!(out, "db_failing_fast {}", u8::from(db.failing_fast()));
        let _ = writeln!(
            out,
            "# HELP db_retries_total Transient database errors retried."
        );
        let _ = writeln!(out, "# TYPE db_retries_total counter");
        let _ = writeln!(out, "db_retries_total {}", db.retries());
        let _ = writeln!(
            out,
            "# HELP db_statements_total Statements sent to the database (BEGIN and COMMIT aside)."
        );
        let _ = writeln!(out, "# TYPE db_statements_total counter");
        let _ = writeln!(out, "db_statements_total {}", db.statements());
        out
    }
}
