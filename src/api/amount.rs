//! `Amount`: money as it crosses the API. Written as a string with two decimals
//! (`"50.00"`, as the old backend's Pydantic wrote `Decimal`), read from a string or a JSON
//! number, exactly: never through a float. What an amount may be is `domain::money`'s.

use std::borrow::Cow;

use entities::money::Money;
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use super::json_rows::{WriteJson, quoted};
use crate::domain::money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub Money);

const INVALID: &str = "expected an amount such as \"12.50\" (at most 99999999.99, two decimals)";

impl Amount {
    fn parse(text: &str) -> ParseResult<Self> {
        money::storable(text)
            .map(Self)
            .ok_or_else(|| ParseError::custom(INVALID))
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

/// As `to_json` writes it: digits, a sign and a point need no escaping.
impl WriteJson for Amount {
    fn write_json(&self, out: &mut Vec<u8>) {
        quoted(out, self.0.to_string().as_bytes());
    }
}

/// Money in a request body, as `money::requested` takes it (the document's pattern, checked
/// by hand so the service takes exactly the strings the document allows). A JSON number is
/// read by its shortest decimal spelling, which must fit the same pattern (the Android app
/// sends numbers).
fn parse_request<T: Type>(
    value: Option<Value>,
    positive: bool,
    invalid: &str,
) -> Result<Money, ParseError<T>> {
    let text = match value.unwrap_or_default() {
        Value::String(text) => text,
        Value::Number(number) => number.to_string(),
        other => return Err(ParseError::expected_type(other)),
    };
    money::requested(&text, positive).ok_or_else(|| ParseError::custom(invalid))
}

fn request_schema(pattern: &str, description: &'static str) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        pattern: Some(pattern.to_owned()),
        description: Some(description),
        example: Some(Value::String("12.50".to_owned())),
        ..MetaSchema::new_with_format("string", "decimal")
    }))
}

/// Defines a request amount type: `$positive` says whether 0 is refused.
macro_rules! request_amount {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $positive:literal, $pattern:literal,
     $description:literal, $invalid:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub Money);

        impl Type for $name {
            const IS_REQUIRED: bool = true;

            type RawValueType = Self;

            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                request_schema($pattern, $description)
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

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                parse_request::<Self>(value, $positive, $invalid).map(Self)
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.to_string()))
            }
        }
    };
}

request_amount!(
    /// An amount that must be more than 0: an expense, a member's share of one.
    PositiveAmount,
    "string_decimal_positive",
    true,
    r"^([1-9]\d{0,7}(\.\d{1,2})?|0\.(0[1-9]|[1-9]\d?))$",
    "More than 0 and at most 99999999.99, with at most two decimals, as a string; a JSON number with the same digits is also read.",
    "expected an amount more than 0 such as \"12.50\" (at most 99999999.99, two decimals, no sign)"
);

request_amount!(
    /// An amount that may be 0: a shopping item's price.
    Price,
    "string_decimal_price",
    false,
    r"^(0|[1-9]\d{0,7})(\.\d{1,2})?$",
    "From 0 to 99999999.99, with at most two decimals, as a string; a JSON number with the same digits is also read.",
    "expected a price such as \"12.50\" (0 to 99999999.99, two decimals, no sign)"
);

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

    fn positive(value: Value) -> Option<String> {
        PositiveAmount::parse_from_json(Some(value))
            .ok()
            .map(|a| a.0.to_string())
    }

    fn price(value: Value) -> Option<String> {
        Price::parse_from_json(Some(value))
            .ok()
            .map(|a| a.0.to_string())
    }

    #[test]
    fn request_amounts_take_exactly_their_patterns() {
        use serde_json::json;
        for (value, expected) in [
            (json!("0.01"), Some("0.01")),
            (json!("0.5"), Some("0.50")),
            (json!("12.5"), Some("12.50")),
            (json!("99999999.99"), Some("99999999.99")),
            (json!(42), Some("42.00")),
            (json!(12.5), Some("12.50")),
            (json!("0"), None),
            (json!("0.00"), None),
            (json!(0), None),
            (json!("-1"), None),
            (json!("+1"), None),
            (json!("01"), None),
            (json!(" 1"), None),
            (json!("1.005"), None),
            (json!("100000000"), None),
            (json!(false), None),
        ] {
            assert_eq!(positive(value.clone()).as_deref(), expected, "{value}");
        }
        assert_eq!(price(json!("0")).as_deref(), Some("0.00"));
        assert_eq!(price(json!(0)).as_deref(), Some("0.00"));
        assert_eq!(price(json!("0.00")).as_deref(), Some("0.00"));
        assert_eq!(price(json!("-0.01")), None);
        assert_eq!(price(json!("100000000.00")), None);
    }
}
