//! What is known of the request being served wherever its code runs: its id, for error
//! bodies, Sentry tags and logs. Set by the request-id layer; read without any HTTP types.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as the request with id `id`. Not an `async fn`: the layered endpoint's
/// future is already close to the compiler's depth limit, and one more level passes it.
pub fn scope<F: Future>(id: String, work: F) -> impl Future<Output = F::Output> {
    REQUEST_ID.scope(id, work)
}

/// The id of the request being served, or `"unknown"` outside of one.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "unknown".to_owned())
}
