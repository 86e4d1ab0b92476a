//! `Timestamp`: how every datetime crosses the API. Stored as a naive UTC value (the
//! schema's `timestamp without time zone`), always written as RFC 3339 UTC with a `Z`
//! (the Android app's `Instant.parse` rejects anything else), and read from RFC 3339 with
//! any offset, from a naive value taken as UTC, or from a date alone taken as its midnight
//! UTC (the app holds due dates as `LocalDate`, and the old backend stored them so).
//! `TimestampInput`, what requests send, also reads a number of seconds or milliseconds
//! since the epoch, as the old backend's Pydantic did; the document keeps answers' type a
//! plain date-time string.
//! Years 1 to 9999 only: both databases
//! store those, while PostgreSQL refuses some larger ones and SQLite would sort a
//! five-digit year as text before a four-digit one.

use std::borrow::Cow;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Timelike, Utc,
};
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use super::json_rows::{WriteJson, quoted};

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

    /// Microseconds and a `Z`.
    pub fn to_rfc3339(self) -> String {
        self.with_rfc3339(str::to_owned)
    }

    /// Calls `write` with the RFC 3339 text. A list answer writes hundreds of these, so
    /// the digits of years 0 to 9999 (all the API stores) go into a buffer on the stack;
    /// chrono's writer, which formats each field through `fmt` into a new `String`, is
    /// kept for the rest (larger years, leap seconds), which it writes its own way.
    fn with_rfc3339<T>(self, write: impl FnOnce(&str) -> T) -> T {
        let (year, nanos) = (self.0.year(), self.0.nanosecond());
        let (Ok(year @ 0..=9999), 0..=999_999_999) = (u32::try_from(year), nanos) else {
            return write(
                &self
                    .0
                    .and_utc()
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
            );
        };
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        let fields = [
            (0..4, year),
            (5..7, self.0.month()),
            (8..10, self.0.day()),
            (11..13, self.0.hour()),
            (14..16, self.0.minute()),
            (17..19, self.0.second()),
            (20..26, nanos / 1000),
        ];
        for (place, mut value) in fields {
            for digit in text[place].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        // Digits, '-', 'T', ':', '.' and 'Z' only: always UTF-8.
        write(std::str::from_utf8(&text).unwrap_or_default())
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

/// A date-time in a request body: any form `Timestamp` reads, or a JSON number of seconds
/// since the epoch (fractions kept), read as milliseconds when its magnitude is above 2e10,
/// the rule of Pydantic's lax mode. Every such field is optional and takes `null`, and the
/// schema says so in each of its forms: OpenAPI 3.0 ignores a `nullable` beside `anyOf`
/// without a `type`, so those fields carry no `nullable` of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampInput(pub NaiveDateTime);

/// Above this magnitude an epoch number is milliseconds (2e10 seconds is the year 2603).
const EPOCH_MILLIS_ABOVE: f64 = 2e10;
/// The epoch numbers of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z, in milliseconds.
const EPOCH_MIN: f64 = -62_135_596_800_000.0;
const EPOCH_MAX: f64 = 253_402_300_799_999.0;

const INVALID_INPUT: &str = "expected an RFC 3339 date-time (or a date) in the years 1 to 9999, \
     e.g. 2025-11-17T10:20:30Z, or a number of seconds (milliseconds above 2e10) since the epoch";

impl TimestampInput {
    /// The moment an epoch number names, when both databases can store it.
    fn from_epoch(number: &serde_json::Number) -> Option<Timestamp> {
        let millis_scale = |value: f64| value.abs() > EPOCH_MILLIS_ABOVE;
        // Whole numbers exactly; an f64 of milliseconds has no microseconds to spare.
        let at = match number.as_i64() {
            Some(whole) if millis_scale(whole as f64) => DateTime::from_timestamp_millis(whole),
            Some(whole) => DateTime::from_timestamp(whole, 0),
            None => {
                let value = number.as_f64()?;
                let seconds = if millis_scale(value) {
                    value / 1000.0
                } else {
                    value
                };
                let micros = (seconds * 1e6).round();
                (micros.abs() < i64::MAX as f64)
                    .then(|| DateTime::from_timestamp_micros(micros as i64))
                    .flatten()
            }
        }?;
        Timestamp::storable(at.naive_utc())
    }
}

impl Type for TimestampInput {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time_or_epoch".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(ACCEPTED_INPUT),
            any_of: vec![
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    description: Some(ACCEPTED),
                    nullable: true,
                    ..MetaSchema::new_with_format("string", "date-time")
                })),
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    description: Some(EPOCH),
                    minimum: Some(EPOCH_MIN),
                    maximum: Some(EPOCH_MAX),
                    nullable: true,
                    ..MetaSchema::new("number")
                })),
            ],
            ..MetaSchema::ANY
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

/// What the document says of every date-time a request sends.
const ACCEPTED_INPUT: &str =
    "A date-time, as a string or as a number since the epoch; null where the field takes none.";
const EPOCH: &str = "Seconds since 1970-01-01T00:00:00Z, fractions kept; milliseconds when \
     above 2e10 or below -2e10 (as the old backend read them).";

impl ParseFromJSON for TimestampInput {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let parsed = match value.unwrap_or_default() {
            Value::String(text) => Timestamp::parse(&text),
            Value::Number(number) => Self::from_epoch(&number),
            other => return Err(ParseError::expected_type(other)),
        };
        parsed
            .map(|at| Self(at.0))
            .ok_or_else(|| ParseError::custom(INVALID_INPUT))
    }
}

impl ToJSON for TimestampInput {
    fn to_json(&self) -> Option<Value> {
        Timestamp(self.0).to_json()
    }
}

/// As `to_json` writes it: the text needs no escaping.
impl WriteJson for Timestamp {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.with_rfc3339(|text| quoted(out, text.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand-written digits are chrono's RFC 3339 text (microseconds, `Z`) for every
        /// time chrono holds: years far outside 0..=9999 and leap seconds included.
        #[test]
        fn written_as_chrono_writes_it(
            days in -1_000_000_i64..4_000_000,
            seconds in 0_u32..86_400,
            nanos in prop_oneof![0_u32..1_000_000_000, 1_000_000_000_u32..2_000_000_000],
        ) {
            let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
                .unwrap_or(NaiveTime::MIN);
            let date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(days).unwrap_or(1))
                .unwrap_or(NaiveDate::MIN);
            let at = date.and_time(time);
            let expected = at.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true);
            prop_assert_eq!(Timestamp(at).to_rfc3339(), expected.clone());
            let mut written = Vec::new();
            Timestamp(at).write_json(&mut written);
            prop_assert_eq!(written, format!("\"{expected}\"").into_bytes());
        }
    }

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

    fn read(value: Value) -> Option<String> {
        TimestampInput::parse_from_json(Some(value))
            .ok()
            .map(|at| Timestamp(at.0).to_rfc3339())
    }

    #[test]
    fn a_request_reads_epoch_seconds_and_above_2e10_milliseconds() {
        assert_eq!(
            read(Value::from(1_763_374_830)).as_deref(),
            Some("2025-11-17T10:20:30.000000Z")
        );
        assert_eq!(
            read(Value::from(1_763_374_830.5)).as_deref(),
            Some("2025-11-17T10:20:30.500000Z")
        );
        assert_eq!(
            read(Value::from(1_763_374_830_123_i64)).as_deref(),
            Some("2025-11-17T10:20:30.123000Z")
        );
        assert_eq!(
            read(Value::from(-1)).as_deref(),
            Some("1969-12-31T23:59:59.000000Z")
        );
        assert_eq!(
            read(Value::from("2025-11-17")).as_deref(),
            Some("2025-11-17T00:00:00.000000Z")
        );
    }

    #[test]
    fn a_request_refuses_epoch_numbers_outside_the_years_1_to_9999() {
        for bad in [
            Value::from(253_402_300_800_000_i64),
            Value::from(-62_135_596_800_001_i64),
            Value::from(1e300),
            Value::from(u64::MAX),
            Value::Bool(true),
        ] {
            assert!(read(bad.clone()).is_none(), "{bad}");
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
