//! `JsonRows<T>`: a JSON array answer that serde writes row by row while the client reads
//! it, documented exactly as poem-openapi's `Json<Vec<T>>`. `Json<Vec<T>>` first builds a
//! `serde_json::Value` tree (a map and a string key per field of every row) and then the
//! whole text, so a 20,000-todo list held about 25 MB per request; this holds the rows as
//! read and one chunk of text. `T`'s `Serialize` must write what its `ToJSON` writes; each
//! type answered this way has a test that compares the two.

use std::io;

use poem::{Body, IntoResponse, Response};
use poem_openapi::{
    ApiResponse,
    payload::{Json, Payload},
    registry::{MetaResponses, MetaSchemaRef, Registry},
    types::{ToJSON, Type},
};
use serde::Serialize;

/// Text is handed to the connection (or to gzip) in pieces of about this size.
const CHUNK_BYTES: usize = 64 * 1024;

pub struct JsonRows<T>(Box<dyn Iterator<Item = T> + Send>);

impl<T> JsonRows<T> {
    /// The answer for `rows`, each turned into its wire type only when it is written.
    pub fn new(rows: impl Iterator<Item = T> + Send + 'static) -> Self {
        Self(Box::new(rows))
    }
}

impl<T: Type> Payload for JsonRows<T> {
    const CONTENT_TYPE: &'static str = Json::<Vec<T>>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        Json::<Vec<T>>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        Json::<Vec<T>>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        Json::<Vec<T>>::register(registry);
    }
}

impl<T: Type + Serialize + 'static> IntoResponse for JsonRows<T> {
    fn into_response(self) -> Response {
        let chunks = Chunks {
            rows: self.0,
            written: 0,
            done: false,
        };
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(Body::from_bytes_stream(futures_util::stream::iter(chunks)))
    }
}

impl<T: Type + ToJSON + Serialize + Send + 'static> ApiResponse for JsonRows<T> {
    fn meta() -> MetaResponses {
        Json::<Vec<T>>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<Vec<T>> as ApiResponse>::register(registry);
    }
}

/// The array's text, a chunk at a time: `[`, the rows with commas between them, `]`.
struct Chunks<T> {
    rows: Box<dyn Iterator<Item = T> + Send>,
    written: usize,
    done: bool,
}

impl<T: Serialize> Iterator for Chunks<T> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        if self.written == 0 {
            chunk.push(b'[');
        }
        while chunk.len() < CHUNK_BYTES {
            let Some(row) = self.rows.next() else {
                chunk.push(b']');
                self.done = true;
                break;
            };
            if self.written > 0 {
                chunk.push(b',');
            }
            if let Err(err) = serde_json::to_writer(&mut chunk, &row) {
                // The status line is sent; all that is left is to cut the answer short.
                tracing::error!(error = %err, "a list row could not be written");
                self.done = true;
                return Some(Err(io::Error::other(err)));
            }
            self.written += 1;
        }
        Some(Ok(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(rows: Vec<u32>) -> String {
        let chunks = Chunks {
            rows: Box::new(rows.into_iter()),
            written: 0,
            done: false,
        };
        let bytes: Vec<u8> = chunks
            .collect::<io::Result<Vec<_>>>()
            .map(|chunks| chunks.concat())
            .unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn no_rows_is_an_empty_array() {
        assert_eq!(text_of(vec![]), "[]");
    }

    #[test]
    fn rows_are_written_in_order_across_chunks() {
        let rows: Vec<u32> = (0..100_000).collect();
        let text = text_of(rows.clone());
        assert!(text.len() > 2 * CHUNK_BYTES, "spans several chunks");
        let parsed: Vec<u32> = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed, rows);
    }
}
