//! `JsonRows<T>`: a JSON array answer written row by row while the client reads it,
//! documented exactly as poem-openapi's `Json<Vec<T>>`. `Json<Vec<T>>` first builds a
//! `serde_json::Value` tree (a map and a string key per field of every row) and then the
//! whole text, so a 20,000-todo list held about 25 MB per request; this holds the rows as
//! read and one chunk of text.
//!
//! Rows are written by [`WriteJson`], by hand: field names are literals and ids, times,
//! numbers and labels are written as they are, only text through serde_json's escaping.
//! serde wrote every name and value through that escaping, a third of a list's CPU. What a
//! type's `WriteJson` writes must be what its `ToJSON` writes; each type answered this way
//! has a property test that compares the two ([`agreement::both_ways`]).

use std::io;

use poem::{Body, IntoResponse, Response};
use poem_openapi::{
    ApiResponse,
    payload::{Json, Payload},
    registry::{MetaResponses, MetaSchemaRef, Registry},
    types::{ToJSON, Type},
};
use uuid::Uuid;

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

impl<T: Type + WriteJson + 'static> IntoResponse for JsonRows<T> {
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

impl<T: Type + ToJSON + WriteJson + Send + 'static> ApiResponse for JsonRows<T> {
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

impl<T: WriteJson> Iterator for Chunks<T> {
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
            row.write_json(&mut chunk);
            self.written += 1;
        }
        Some(Ok(chunk))
    }
}

/// A value written as JSON text onto `out`.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);
}

/// Writes an object: `{`, each field, `}`.
pub struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// The field `name`, one of the type's own field names: written as it is.
    pub fn field(mut self, name: &str, value: &(impl WriteJson + ?Sized)) -> Self {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        value.write_json(self.out);
        self
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

/// `text` in quotes, for text that never needs escaping (ids, times, amounts, labels).
pub fn quoted(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(text);
    out.push(b'"');
}

impl WriteJson for str {
    fn write_json(&self, out: &mut Vec<u8>) {
        // Escaped by serde_json; writing onto a Vec cannot fail.
        serde_json::to_writer(out, self).unwrap_or_default();
    }
}

impl WriteJson for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.as_str().write_json(out);
    }
}

impl WriteJson for Uuid {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
        quoted(out, self.hyphenated().encode_lower(&mut text).as_bytes());
    }
}

impl WriteJson for bool {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

/// Numbers as serde_json writes them (a float that is not finite as `null`, as
/// poem-openapi writes it too).
macro_rules! numbers_as_serde_json_writes_them {
    ($($number:ty),*) => {$(
        impl WriteJson for $number {
            fn write_json(&self, out: &mut Vec<u8>) {
                serde_json::to_writer(out, self).unwrap_or_default();
            }
        }
    )*};
}

numbers_as_serde_json_writes_them!(i32, f64);

impl<T: WriteJson> WriteJson for Option<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(rows: Vec<i32>) -> String {
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
        let rows: Vec<i32> = (0..100_000).collect();
        let text = text_of(rows.clone());
        assert!(text.len() > 2 * CHUNK_BYTES, "spans several chunks");
        let parsed: Vec<i32> = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed, rows);
    }
}

/// What the tests of each type answered through `JsonRows` use: values of the wire types'
/// fields, and the check that `WriteJson` writes what the document describes.
#[cfg(test)]
pub(in crate::api) mod agreement {
    use chrono::DateTime;
    use poem_openapi::types::ToJSON;
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::WriteJson;
    use crate::api::timestamp::Timestamp;

    pub fn timestamp() -> impl Strategy<Value = Timestamp> {
        // Year 1 to 9999, to the microsecond, as the schema's `timestamp` holds them.
        (-62_135_596_800_000_000_i64..253_402_300_799_999_999)
            .prop_filter_map("in chrono's range", |micros| {
                DateTime::from_timestamp_micros(micros).map(|at| Timestamp(at.naive_utc()))
            })
    }

    pub fn uuid() -> impl Strategy<Value = Uuid> {
        any::<u128>().prop_map(Uuid::from_u128)
    }

    /// Any text, escapes and control characters included.
    pub fn text() -> impl Strategy<Value = String> {
        any::<String>()
    }

    /// The rows as `WriteJson` writes them (the list answer) and as poem-openapi writes
    /// them (the documented object), both parsed back, null fields included.
    pub fn both_ways<T: WriteJson + ToJSON>(rows: &[T]) -> (serde_json::Value, serde_json::Value) {
        let documented = rows.to_json().unwrap_or_default();
        let mut text = Vec::new();
        text.push(b'[');
        for (n, row) in rows.iter().enumerate() {
            if n > 0 {
                text.push(b',');
            }
            row.write_json(&mut text);
        }
        text.push(b']');
        let written = serde_json::from_slice(&text).expect("WriteJson wrote JSON");
        (written, documented)
    }
}
