//! `StrictString`: a string a request sends, in its body or its query. poem-openapi's `String` also
//! takes a JSON number or boolean and stores its spelling (`{"name": false}` names a
//! household "false"), while the document says `type: string`; this takes a JSON string only
//! and answers anything else with 422, like every other type mismatch.
//!
//! It also refuses what the service cannot store (`domain::text`: the NUL character), with
//! the same 422 on both databases.
//!
//! Its raw value is the `String`, so `#[oai(validator(min_length, max_length, pattern))]`
//! check it and write their bounds into the field's schema exactly as for `String`.

use std::{borrow::Cow, fmt, ops::Deref};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use crate::{domain::text, error::NUL_REFUSED};

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StrictString(pub String);

impl Type for StrictString {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    /// The document says so too, so that clients (and the conformance fuzzer) know.
    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(text::STORABLE_PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl StrictString {
    fn storable(value: String) -> ParseResult<Self> {
        if !text::storable(&value) {
            return Err(ParseError::custom(NUL_REFUSED));
        }
        Ok(Self(value))
    }
}

impl ParseFromJSON for StrictString {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Self::storable(text),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ParseFromParameter for StrictString {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::storable(value.to_owned())
    }
}

impl ToJSON for StrictString {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

impl Deref for StrictString {
    type Target = String;

    fn deref(&self) -> &String {
        &self.0
    }
}

impl From<StrictString> for String {
    fn from(text: StrictString) -> Self {
        text.0
    }
}

impl fmt::Display for StrictString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_string_is_taken_as_it_is() {
        assert_eq!(
            StrictString::parse_from_json(Some(json!("Flat 3"))).ok(),
            Some(StrictString("Flat 3".into()))
        );
        assert_eq!(
            StrictString::parse_from_json(Some(json!(""))).ok(),
            Some(StrictString(String::new()))
        );
    }

    #[test]
    fn numbers_booleans_and_the_rest_are_refused() {
        for value in [
            json!(false),
            json!(true),
            json!(0),
            json!(1.5),
            json!(null),
            json!([]),
            json!({}),
        ] {
            assert!(
                StrictString::parse_from_json(Some(value.clone())).is_err(),
                "{value}"
            );
        }
        assert!(StrictString::parse_from_json(None).is_err());
    }

    #[test]
    fn the_nul_character_is_refused_anywhere_in_the_string() {
        for text in ["\0", "Bins\0", "\0Bins", "Bi\0ns"] {
            let err = StrictString::parse_from_json(Some(json!(text))).expect_err(text);
            assert!(err.into_message().ends_with(NUL_REFUSED), "{text:?}");
            assert!(
                StrictString::parse_from_parameter(text).is_err(),
                "{text:?}"
            );
        }
        assert_eq!(
            StrictString::parse_from_parameter("Dairy").ok(),
            Some(StrictString("Dairy".into()))
        );
        assert!(StrictString::parse_from_json(Some(json!("U+2400 ␀ is fine"))).is_ok());
    }

    #[test]
    fn schema_is_a_string_without_nul() {
        let schema = serde_json::to_value(StrictString::schema_ref()).expect("schema");
        assert_eq!(
            schema,
            json!({"type": "string", "pattern": "^[^\\u0000]*$"})
        );
    }
}
