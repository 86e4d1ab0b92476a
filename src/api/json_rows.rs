//! Answers written while the client reads them, documented exactly as poem-openapi's
//! `Json<T>`: `JsonRows<T>`, a JSON array written row by row, and `JsonWritten<D>`, any
//! answer written piece by piece (literal text and arrays of rows; the sync answer).
//! `Json<Vec<T>>` first builds a `serde_json::Value` tree (a map and a string key per field
//! of every row) and then the whole text, so a 20,000-todo list held about 25 MB per
//! request; these hold the rows as read and one chunk of text.
//!
//! Rows are written by [`WriteJson`], by hand: field names are literals and ids, times,
//! numbers and labels are written as they are, only text through serde_json's escaping.
//! serde wrote every name and value through that escaping, a third of a list's CPU. What a
//! type's `WriteJson` writes must be what its `ToJSON` writes; each type answered this way
//! has a property test that compares the two ([`agreement::both_ways`]).

use std::{collections::VecDeque, io, marker::PhantomData};

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

/// An answer written piece by piece, documented as `Json<D>`.
pub struct JsonWritten<D> {
    pieces: Vec<Box<dyn Piece>>,
    documented: PhantomData<fn() -> D>,
}

/// A JSON array answer written row by row.
pub type JsonRows<T> = JsonWritten<Vec<T>>;

impl<T: WriteJson + Send + 'static> JsonWritten<Vec<T>> {
    /// The answer for `rows`, each turned into its wire type only when it is written.
    pub fn new(rows: impl Iterator<Item = T> + Send + 'static) -> Self {
        Self::of(vec![Box::new(Rows::new(rows))])
    }
}

impl<D> JsonWritten<D> {
    /// The answer whose text is `pieces` one after another.
    pub fn of(pieces: Vec<Box<dyn Piece>>) -> Self {
        Self {
            pieces,
            documented: PhantomData,
        }
    }
}

impl<D: Type> Payload for JsonWritten<D> {
    const CONTENT_TYPE: &'static str = Json::<D>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        Json::<D>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        Json::<D>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        Json::<D>::register(registry);
    }
}

impl<D: Type> IntoResponse for JsonWritten<D> {
    fn into_response(self) -> Response {
        let chunks = Chunks {
            pieces: self.pieces.into(),
        };
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(Body::from_bytes_stream(futures_util::stream::iter(chunks)))
    }
}

impl<D: Type + ToJSON + Send + 'static> ApiResponse for JsonWritten<D> {
    fn meta() -> MetaResponses {
        Json::<D>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<D> as ApiResponse>::register(registry);
    }
}

/// A piece of an answer's text, written a bit at a time.
pub trait Piece: Send {
    /// Writes onto `out` until it holds a chunk's worth or the piece is all written;
    /// answers whether it is.
    fn write_into(&mut self, out: &mut Vec<u8>) -> bool;
}

/// Text written as it is: keys, punctuation, small values.
pub struct Text(pub Vec<u8>);

impl Piece for Text {
    fn write_into(&mut self, out: &mut Vec<u8>) -> bool {
        out.append(&mut self.0);
        true
    }
}

/// A JSON array of rows: `[`, the rows with commas between them, `]`.
pub struct Rows<T> {
    rows: Box<dyn Iterator<Item = T> + Send>,
    written: usize,
    started: bool,
}

impl<T> Rows<T> {
    pub fn new(rows: impl Iterator<Item = T> + Send + 'static) -> Self {
        Self {
            rows: Box::new(rows),
            written: 0,
            started: false,
        }
    }
}

impl<T: WriteJson> Piece for Rows<T> {
    fn write_into(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.started {
            out.push(b'[');
            self.started = true;
        }
        while out.len() < CHUNK_BYTES {
            let Some(row) = self.rows.next() else {
                out.push(b']');
                return true;
            };
            if self.written > 0 {
                out.push(b',');
            }
            row.write_json(out);
            self.written += 1;
        }
        false
    }
}

/// The answer's text, a chunk at a time.
struct Chunks {
    pieces: VecDeque<Box<dyn Piece>>,
}

impl Iterator for Chunks {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pieces.is_empty() {
            return None;
        }
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        while chunk.len() < CHUNK_BYTES {
            let Some(piece) = self.pieces.front_mut() else {
                break;
            };
            if piece.write_into(&mut chunk) {
                self.pieces.pop_front();
            }
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

impl<T: WriteJson> WriteJson for [T] {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (n, value) in self.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            value.write_json(out);
        }
        out.push(b']');
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.as_slice().write_json(out);
    }
}

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

    fn text_of(pieces: Vec<Box<dyn Piece>>) -> String {
        let chunks = Chunks {
            pieces: pieces.into(),
        };
        let bytes: Vec<u8> = chunks
            .collect::<io::Result<Vec<_>>>()
            .map(|chunks| chunks.concat())
            .unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    fn rows(rows: Vec<i32>) -> Vec<Box<dyn Piece>> {
        vec![Box::new(Rows::new(rows.into_iter()))]
    }

    #[test]
    fn no_rows_is_an_empty_array() {
        assert_eq!(text_of(rows(vec![])), "[]");
    }

    #[test]
    fn rows_are_written_in_order_across_chunks() {
        let numbers: Vec<i32> = (0..100_000).collect();
        let text = text_of(rows(numbers.clone()));
        assert!(text.len() > 2 * CHUNK_BYTES, "spans several chunks");
        let parsed: Vec<i32> = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed, numbers);
    }

    #[test]
    fn pieces_are_written_one_after_another_across_chunks() {
        let numbers: Vec<i32> = (0..50_000).collect();
        let text = text_of(vec![
            Box::new(Text(b"{\"a\":".to_vec())),
            Box::new(Rows::new(numbers.clone().into_iter())),
            Box::new(Text(b",\"b\":".to_vec())),
            Box::new(Rows::new(numbers.clone().into_iter())),
            Box::new(Text(b"}".to_vec())),
        ]);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed, serde_json::json!({"a": numbers, "b": numbers}));
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
