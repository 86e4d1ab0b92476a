//! `AnyCaseEnum<E>`: an entity enum as it crosses the API. Written as its lower-case value
//! (`in_progress`), read case-insensitively, so the Android app's upper-case member
//! names (`IN_PROGRESS`) are accepted too. The schema lists the values under `E::NAME`.

use std::borrow::Cow;

use entities::enums::{self, Labelled};
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};

use super::{
    json_rows::{WriteJson, quoted},
    null_as_absent::JsonType,
};
use serde_json::Value;

/// The schema name an enum has in the document (the old backend's names).
pub trait SchemaName {
    const NAME: &'static str;
}

macro_rules! schema_names {
    ($($ty:ident),+ $(,)?) => {
        $(impl SchemaName for enums::$ty {
            const NAME: &'static str = stringify!($ty);
        })+
    };
}

schema_names!(
    MemberRole,
    InviteStatus,
    TodoStatus,
    TodoPriority,
    ShoppingListStatus,
    ExpenseCategory,
    PaymentMethod,
    SplitType,
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnyCaseEnum<E>(pub E);

/// What `AnyCaseEnum` needs of an entity enum: text values, their list, and a schema name.
pub trait ApiEnum: Labelled + SchemaName + Copy + Send + Sync + 'static {}

impl<E> ApiEnum for E where E: Labelled + SchemaName + Copy + Send + Sync + 'static {}

impl<E: ApiEnum> AnyCaseEnum<E> {
    fn parse(text: &str) -> Option<Self> {
        E::from_label(&text.trim().to_ascii_lowercase()).map(Self)
    }

    fn invalid() -> String {
        let values: Vec<String> = E::all().into_iter().map(E::label).collect();
        format!("expected one of: {}", values.join(", "))
    }
}

impl<E: ApiEnum> Type for AnyCaseEnum<E> {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        E::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(E::NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(E::NAME.to_owned(), |_| MetaSchema {
            enum_items: E::all()
                .into_iter()
                .map(|value| Value::String(value.label()))
                .collect(),
            ..MetaSchema::new("string")
        });
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

impl<E: ApiEnum> JsonType for AnyCaseEnum<E> {
    const JSON_TYPE: &'static str = "string";
}

impl<E: ApiEnum> ParseFromJSON for AnyCaseEnum<E> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => {
                Self::parse(&text).ok_or_else(|| ParseError::custom(Self::invalid()))
            }
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl<E: ApiEnum> ParseFromParameter for AnyCaseEnum<E> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse(value).ok_or_else(|| ParseError::custom(Self::invalid()))
    }
}

impl<E: ApiEnum> ToJSON for AnyCaseEnum<E> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.label()))
    }
}

/// As `to_json` writes it: a label is lower-case letters and underscores.
impl<E: ApiEnum> WriteJson for AnyCaseEnum<E> {
    fn write_json(&self, out: &mut Vec<u8>) {
        quoted(out, self.0.label().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::enums::{PaymentMethod, TodoStatus};

    #[test]
    fn written_lower_case() {
        assert_eq!(
            AnyCaseEnum(TodoStatus::InProgress).to_json(),
            Some(Value::from("in_progress"))
        );
    }

    #[test]
    fn read_in_any_case() {
        for text in ["in_progress", "IN_PROGRESS", "In_Progress"] {
            let parsed = AnyCaseEnum::<TodoStatus>::parse_from_json(Some(Value::from(text)));
            assert_eq!(
                parsed.ok(),
                Some(AnyCaseEnum(TodoStatus::InProgress)),
                "{text}"
            );
        }
        assert_eq!(
            AnyCaseEnum::<PaymentMethod>::parse_from_parameter("BANK_TRANSFER").ok(),
            Some(AnyCaseEnum(PaymentMethod::BankTransfer))
        );
    }

    #[test]
    fn unknown_values_and_types_are_refused() {
        assert!(AnyCaseEnum::<TodoStatus>::parse_from_json(Some(Value::from("done"))).is_err());
        assert!(AnyCaseEnum::<TodoStatus>::parse_from_json(Some(Value::from(1))).is_err());
        assert!(AnyCaseEnum::<TodoStatus>::parse_from_parameter("inprogress").is_err());
    }
}
