//! `DirectJson<T>`: a JSON answer that serde writes straight from `T`, documented exactly as
//! poem-openapi's `Json<T>`. `Json<T>` first builds a `serde_json::Value` tree (a map and a
//! string key per field of every row), which cost a fifth of a list-todos request under
//! `make bench`. `T`'s `Serialize` must write what its `ToJSON` writes; each type answered
//! this way has a test that compares the two.

use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse,
    payload::{Json, Payload},
    registry::{MetaResponses, MetaSchemaRef, Registry},
    types::{ToJSON, Type},
};
use serde::Serialize;

use crate::error::ApiError;

pub struct DirectJson<T>(pub T);

impl<T: Type> Payload for DirectJson<T> {
    const CONTENT_TYPE: &'static str = Json::<T>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        Json::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        Json::<T>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        Json::<T>::register(registry);
    }
}

impl<T: Type + Serialize> IntoResponse for DirectJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .content_type(Self::CONTENT_TYPE)
                .body(body),
            Err(err) => ApiError::internal(&err).into_response(),
        }
    }
}

impl<T: Type + ToJSON + Serialize + Send> ApiResponse for DirectJson<T> {
    fn meta() -> MetaResponses {
        Json::<T>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}
