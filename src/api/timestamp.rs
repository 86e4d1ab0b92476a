//! `Timestamp`: how every datetime crosses the API. Stored as a naive UTC value (the
//! schema's `timestamp without time zone`), always written as RFC 3339 UTC with a `Z`
//! (the Android app's `Instant.parse` rejects anything else), and read from RFC 3339 with
//! any offset, from a naive value taken as UTC, or from a date alone taken as its midnight
//! UTC (the app holds due dates as `LocalDate`, and the old backend stored them so).
//! Years 1 to 9999 only: both databases
//! store those, while PostgreSQL refuses some larger ones and SQLite would sort a
//! five-digit year as text before a four-digit one.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub NaiveDateTime);

const NAIVE_FORMATS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"];

impl Timestamp {
    pub fn now() -> Self {
        Self(Utc::now().naive_utc())
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let parsed = match DateTime::parse_from_rfc3339(text) {
            Ok(with_offset) => with_offset.naive_utc(),
            Err(_) => NAIVE_FORMATS
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                .or_else(|| {
                    NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .ok()
                        .map(|date| date.and_time(NaiveTime::MIN))
                })?,
        };
        Self::storable(parsed)
    }

    /// `value` when both databases can store it (years 1 to 9999).
    pub fn storable(value: NaiveDateTime) -> Option<Self> {
        (1..=9999).contains(&value.year()).then_some(Self(value))
    }

    /// Microseconds and a `Z`, through chrono's RFC 3339 writer: a `format` string would be
    /// parsed again for every value, and a list answer writes hundreds of them.
    pub fn to_rfc3339(self) -> String {
        self.0
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl From<NaiveDateTime> for Timestamp {
    fn from(value: NaiveDateTime) -> Self {
        Self(value)
    }
}

const INVALID: &str =
    "expected an RFC 3339 date-time (or a date) in the years 1 to 9999, e.g. 2025-11-17T10:20:30Z";

/// What the document says of every date-time field.
const ACCEPTED: &str = "RFC 3339 date-time, written in UTC with `Z`. Also read: a date-time \
     without offset (taken as UTC) and a date alone (its midnight UTC).";

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(ACCEPTED),
            ..MetaSchema::new_with_format("string", "date-time")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Self::parse(&text).ok_or_else(|| ParseError::custom(INVALID)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ParseFromParameter for Timestamp {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse(value).ok_or_else(|| ParseError::custom(INVALID))
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.to_rfc3339()))
    }
}

/// As `to_json` writes it, for answers written by `JsonRows`.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> String {
        Timestamp::parse(text)
            .map(Timestamp::to_rfc3339)
            .unwrap_or_default()
    }

    #[test]
    fn written_in_utc_with_z_and_microseconds() {
        assert_eq!(
            parsed("2025-11-17T10:20:30.123456Z"),
            "2025-11-17T10:20:30.123456Z"
        );
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        assert_eq!(
            parsed("2025-11-17T12:20:30+02:00"),
            "2025-11-17T10:20:30.000000Z"
        );
        assert_eq!(
            parsed("2025-11-17T05:20:30.5-05:00"),
            "2025-11-17T10:20:30.500000Z"
        );
    }

    #[test]
    fn naive_input_is_taken_as_utc() {
        assert_eq!(parsed("2025-11-17T10:20:30"), "2025-11-17T10:20:30.000000Z");
        assert_eq!(
            parsed("2025-11-17 10:20:30.25"),
            "2025-11-17T10:20:30.250000Z"
        );
    }

    #[test]
    fn a_date_alone_is_its_midnight_utc() {
        assert_eq!(parsed("2025-11-17"), "2025-11-17T00:00:00.000000Z");
        assert_eq!(parsed(" 2025-11-17 "), "2025-11-17T00:00:00.000000Z");
        assert!(Timestamp::parse("2025-02-30").is_none());
    }

    #[test]
    fn years_outside_1_to_9999_are_refused() {
        assert_eq!(
            parsed("9999-12-31T23:59:59Z"),
            "9999-12-31T23:59:59.000000Z"
        );
        assert_eq!(
            parsed("0001-01-01T00:00:00Z"),
            "0001-01-01T00:00:00.000000Z"
        );
        for bad in [
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
            "+10000-01-01T00:00:00",
            "+262143-01-01T00:00:00",
            "-0001-01-01T00:00:00",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01T00:00:00Z",
            "2025-11",
            "1700000000",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
        assert!(Timestamp::parse_from_json(Some(Value::from(5))).is_err());
    }
}
