//! `Amount`: money as it crosses the API. Written as a string with two decimals
//! (`"50.00"`, as the old backend's Pydantic wrote `Decimal`), read from a string or a JSON
//! number, exactly: never through a float.

use std::borrow::Cow;

use entities::money::Money;
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// The largest amount `NUMERIC(10,2)` holds.
const MAX_CENTS: i64 = 9_999_999_999;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub Money);

const INVALID: &str = "expected an amount such as \"12.50\" (at most 99999999.99, two decimals)";

impl Amount {
    fn parse(text: &str) -> ParseResult<Self> {
        let money: Money = text.parse().map_err(|_| ParseError::custom(INVALID))?;
        if money.cents().abs() > MAX_CENTS {
            return Err(ParseError::custom(INVALID));
        }
        Ok(Self(money))
    }
}

impl Type for Amount {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_decimal".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(r"^-?\d+(\.\d{1,2})?$".to_owned()),
            example: Some(Value::String("12.50".to_owned())),
            ..MetaSchema::new_with_format("string", "decimal")
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

impl ParseFromJSON for Amount {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Self::parse(&text),
            // serde_json writes a number as its shortest exact decimal form.
            Value::Number(number) => Self::parse(&number.to_string()),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ParseFromParameter for Amount {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse(value)
    }
}

impl ToJSON for Amount {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(value: Value) -> Option<String> {
        Amount::parse_from_json(Some(value))
            .ok()
            .map(|a| a.0.to_string())
    }

    #[test]
    fn strings_and_numbers_are_read_exactly() {
        assert_eq!(parsed(Value::from("12.5")), Some("12.50".into()));
        assert_eq!(parsed(serde_json::json!(0.1)), Some("0.10".into()));
        assert_eq!(parsed(serde_json::json!(50)), Some("50.00".into()));
        assert_eq!(
            parsed(Value::from("99999999.99")),
            Some("99999999.99".into())
        );
    }

    #[test]
    fn out_of_range_and_garbage_are_refused() {
        assert_eq!(parsed(Value::from("100000000.00")), None);
        assert_eq!(parsed(Value::from("12,50")), None);
        assert_eq!(parsed(Value::from("")), None);
        assert_eq!(parsed(Value::Bool(true)), None);
        assert_eq!(parsed(serde_json::json!(1e300)), None);
    }
}
