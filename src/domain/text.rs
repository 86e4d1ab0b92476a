//! What text the service can store: anything but the NUL character, which a PostgreSQL
//! `text` (in a UTF-8 database) cannot hold while SQLite would, so it is refused on both.

/// The document's pattern for the same rule.
pub const STORABLE_PATTERN: &str = "^[^\\u0000]*$";

/// Whether `text` can be stored as it is.
pub fn storable(text: &str) -> bool {
    !text.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_anywhere_is_not_storable_and_its_look_alikes_are() {
        for text in ["\0", "Bins\0", "\0Bins", "Bi\0ns"] {
            assert!(!storable(text), "{text:?}");
        }
        assert!(storable("U+2400 ␀ is fine"));
        assert!(storable(""));
    }
}
