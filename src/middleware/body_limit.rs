//! Refuses request bodies over the configured size with 413, whether the client declared
//! the length or streamed the body in chunks, before any handler buffers it; and JSON bodies
//! of more values than any request of the document needs, before poem-openapi builds their
//! `serde_json::Value` tree (about 32 bytes a value: a megabyte of `[1,1,…]` costs 17 MB).
//!
//! The body read here is kept in the request as `ReadBody`, so that an error about it can
//! point into it.

use std::cell::Cell;

use bytes::Bytes;
use poem::{
    Endpoint, IntoResponse, Request, Response,
    error::ReadBodyError,
    http::{HeaderMap, header},
};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::ApiError;

#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub bytes: usize,
    pub json_values: usize,
}

/// The request's body as it was read, before any extractor parsed it.
#[derive(Clone, Debug)]
pub struct ReadBody(pub Bytes);

pub async fn layer<E: Endpoint>(
    next: E,
    mut req: Request,
    limits: BodyLimits,
) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.bytes as u64) {
        return Ok(ApiError::payload_too_large(limits.bytes).into_response());
    }
    let body = match req.take_body().into_bytes_limit(limits.bytes).await {
        Ok(body) => body,
        Err(ReadBodyError::PayloadTooLarge) => {
            return Ok(ApiError::payload_too_large(limits.bytes).into_response());
        }
        Err(err) => {
            return Ok(
                ApiError::bad_request(format!("Could not read the request body: {err}"))
                    .into_response(),
            );
        }
    };
    if is_json(req.headers()) && more_values_than(&body, limits.json_values) {
        return Ok(ApiError::too_many_json_values(limits.json_values).into_response());
    }
    if !body.is_empty() {
        req.extensions_mut().insert(ReadBody(body.clone()));
    }
    req.set_body(body);
    next.call(req).await.map(IntoResponse::into_response)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|kind| kind.contains("json"))
}

/// Whether `body` holds more than `limit` JSON values, counted without building them. Text
/// that is not JSON is left to the extractor, which says what is wrong with it.
fn more_values_than(body: &[u8], limit: usize) -> bool {
    let counted = Cell::new(0);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let walked = Counter {
        counted: &counted,
        limit,
    }
    .deserialize(&mut deserializer);
    walked.is_err() && counted.get() > limit
}

/// Walks one JSON value and everything in it, counting each, and stops past `limit`.
#[derive(Clone, Copy)]
struct Counter<'a> {
    counted: &'a Cell<usize>,
    limit: usize,
}

impl Counter<'_> {
    fn count<E: de::Error>(self) -> Result<(), E> {
        self.counted.set(self.counted.get() + 1);
        if self.counted.get() > self.limit {
            return Err(E::custom("too many values"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Counter<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.count()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.count()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.count()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.count()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.count()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.count()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.count()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.count()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_counts_at_every_depth() {
        // The object, the array, 1, "a", null, the inner object and its true: 7.
        let body = br#"{"xs": [1, "a", null, {"k": true}]}"#;
        assert!(!more_values_than(body, 7));
        assert!(more_values_than(body, 6));
    }

    #[test]
    fn text_that_is_not_json_is_not_refused_here() {
        assert!(!more_values_than(b"{\"title\": ", 1));
        assert!(!more_values_than(b"not json", 0));
    }
}
