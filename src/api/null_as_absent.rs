//! `NullAsAbsent<T>`: an optional request field of a referenced schema (an enum, an object)
//! that also takes `null`, which means the same as leaving it out. `#[oai(nullable)]` on
//! such a field writes `nullable` beside an `allOf` with no `type`, which OpenAPI 3.0
//! ignores and client generators (openapi-typescript) refuse; this writes
//! `{type, nullable: true, allOf: [$ref]}`, which they read as "the schema, or null".

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// The JSON type of a schema the document writes as a reference, for `NullAsAbsent` to state.
pub trait JsonType {
    const JSON_TYPE: &'static str;
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct NullAsAbsent<T>(pub Option<T>);

impl<T: Type + JsonType> Type for NullAsAbsent<T> {
    const IS_REQUIRED: bool = false;

    type RawValueType = T::RawValueType;

    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            nullable: true,
            all_of: vec![T::schema_ref()],
            ..MetaSchema::new(T::JSON_TYPE)
        }))
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(value) => value.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: ParseFromJSON + JsonType> ParseFromJSON for NullAsAbsent<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::Null => Ok(Self(None)),
            value => T::parse_from_json(Some(value))
                .map(|value| Self(Some(value)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON + JsonType> ToJSON for NullAsAbsent<T> {
    fn to_json(&self) -> Option<Value> {
        match &self.0 {
            Some(value) => value.to_json(),
            None => Some(Value::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use entities::enums::TodoStatus;
    use serde_json::json;

    use super::*;
    use crate::api::any_case_enum::AnyCaseEnum;

    type Status = NullAsAbsent<AnyCaseEnum<TodoStatus>>;

    #[test]
    fn null_and_absent_are_none() {
        assert_eq!(Status::parse_from_json(None).ok(), Some(NullAsAbsent(None)));
        assert_eq!(
            Status::parse_from_json(Some(Value::Null)).ok(),
            Some(NullAsAbsent(None))
        );
    }

    #[test]
    fn a_value_is_parsed_by_the_inner_type() {
        assert_eq!(
            Status::parse_from_json(Some(json!("IN_PROGRESS"))).ok(),
            Some(NullAsAbsent(Some(AnyCaseEnum(TodoStatus::InProgress))))
        );
        assert!(Status::parse_from_json(Some(json!("done"))).is_err());
    }

    #[test]
    fn schema_states_the_type_beside_nullable() {
        let schema = serde_json::to_value(Status::schema_ref()).expect("schema");
        assert_eq!(
            schema,
            json!({
                "type": "string",
                "nullable": true,
                "allOf": [{"$ref": "#/components/schemas/TodoStatus"}]
            })
        );
    }
}
