//! `Text`: a string field of a request body. poem-openapi's `String` also takes a JSON
//! number or boolean and stores its spelling (`{"name": false}` names a household "false"),
//! while the document says `type: string`; this takes a JSON string only and answers
//! anything else with 422, like every other type mismatch.
//!
//! Its raw value is the `String`, so `#[oai(validator(min_length, max_length, pattern))]`
//! check it and write their bounds into the field's schema exactly as for `String`.

use std::{borrow::Cow, fmt, ops::Deref};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Text(pub String);

impl Type for Text {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
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

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Text {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

impl Deref for Text {
    type Target = String;

    fn deref(&self) -> &String {
        &self.0
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

impl fmt::Display for Text {
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
            Text::parse_from_json(Some(json!("Flat 3"))).ok(),
            Some(Text("Flat 3".into()))
        );
        assert_eq!(
            Text::parse_from_json(Some(json!(""))).ok(),
            Some(Text(String::new()))
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
                Text::parse_from_json(Some(value.clone())).is_err(),
                "{value}"
            );
        }
        assert!(Text::parse_from_json(None).is_err());
    }

    #[test]
    fn schema_is_a_plain_string() {
        let schema = serde_json::to_value(Text::schema_ref()).expect("schema");
        assert_eq!(schema, json!({"type": "string"}));
    }
}
