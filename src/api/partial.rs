//! A nullable field of a request, as the service's partial update takes it.

use poem_openapi::types::MaybeUndefined;

use crate::service::patch::Patch;

/// `update` converted by `convert`: left out keeps, `null` clears, a value sets.
pub fn patch<T, V>(update: MaybeUndefined<T>, convert: impl FnOnce(T) -> V) -> Patch<V> {
    match update {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(convert(value)),
    }
}
