//! Size caps on stored resources (issue 13, DESIGN §8): each string value
//! and each whole document. They keep one resource from filling memory
//! when a list or a GET renders it.
//!
//! A value a write does not touch is never refused: a resource stored
//! before the caps (or under larger ones) can still be changed, so a
//! leaver can always be deprovisioned.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::ScimError;
use crate::resource::Document;

/// Default cap on one string value: 64 KiB.
pub const DEFAULT_MAX_STRING_BYTES: usize = 64 * 1024;
/// Default cap on one stored document (group members excluded): 1 MiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// The size caps of stored resources, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    /// Longest string value, in bytes of UTF-8.
    pub max_string_bytes: usize,
    /// Largest document, in bytes of its JSON text.
    pub max_document_bytes: usize,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

impl SizeLimits {
    /// Refuses a string value of `doc` longer than the cap (400
    /// `invalidValue` naming the attribute and the cap), unless `before`
    /// (the stored document) holds the very same string.
    pub fn check_strings(
        &self,
        doc: &Document,
        before: Option<&Document>,
    ) -> Result<(), ScimError> {
        let mut kept = HashSet::new();
        for value in before.into_iter().flat_map(|b| b.values()) {
            long_strings(value, self.max_string_bytes, &mut |s| {
                kept.insert(s);
            });
        }
        let refuse = |path: &str, found: usize| {
            ScimError::invalid_value(format!(
                "{path} is {found} bytes long; a string value may be at most {} bytes",
                self.max_string_bytes
            ))
        };
        for (name, value) in doc {
            match value {
                // An extension's attributes follow its URN after a colon.
                Value::Object(members) if name.contains(':') => {
                    for (member, value) in members {
                        let mut path = format!("{name}:{member}");
                        if let Some(found) = self.first_long(value, &mut path, &kept) {
                            return Err(refuse(&path, found));
                        }
                    }
                }
                _ => {
                    let mut path = name.clone();
                    if let Some(found) = self.first_long(value, &mut path, &kept) {
                        return Err(refuse(&path, found));
                    }
                }
            }
        }
        Ok(())
    }

    /// The length of the first string under `value` over the cap and not
    /// in `kept`, with `path` extended to name it.
    fn first_long(&self, value: &Value, path: &mut String, kept: &HashSet<&str>) -> Option<usize> {
        match value {
            Value::String(s) if s.len() > self.max_string_bytes && !kept.contains(s.as_str()) => {
                Some(s.len())
            }
            Value::Array(items) => items
                .iter()
                .find_map(|item| self.first_long(item, path, kept)),
            Value::Object(members) => {
                let base = path.len();
                for (name, member) in members {
                    path.truncate(base);
                    path.push('.');
                    path.push_str(name);
                    if let Some(found) = self.first_long(member, path, kept) {
                        return Some(found);
                    }
                }
                path.truncate(base);
                None
            }
            _ => None,
        }
    }

    /// Refuses a document larger than the cap (400 `invalidValue` naming
    /// the cap), unless `before` (the stored document) was over the cap
    /// too and `doc` is no larger.
    pub fn check_document(
        &self,
        doc: &Document,
        before: Option<&Document>,
    ) -> Result<(), ScimError> {
        let size = document_bytes(doc);
        if size <= self.max_document_bytes {
            return Ok(());
        }
        if before.is_some_and(|b| size <= document_bytes(b)) {
            return Ok(());
        }
        Err(ScimError::invalid_value(format!(
            "the resource would be {size} bytes of JSON; a stored resource may be at most {} bytes",
            self.max_document_bytes
        )))
    }

    /// Both checks, strings first.
    pub fn check(&self, doc: &Document, before: Option<&Document>) -> Result<(), ScimError> {
        self.check_strings(doc, before)?;
        self.check_document(doc, before)
    }
}

/// Calls `found` with every string under `value` longer than `max`.
fn long_strings<'v>(value: &'v Value, max: usize, found: &mut impl FnMut(&'v str)) {
    match value {
        Value::String(s) if s.len() > max => found(s),
        Value::Array(items) => items.iter().for_each(|i| long_strings(i, max, found)),
        Value::Object(members) => members.values().for_each(|m| long_strings(m, max, found)),
        _ => {}
    }
}

/// The length of a document's JSON text, counted without building it.
pub fn document_bytes(doc: &Document) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Map` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, doc);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn doc(value: Value) -> Document {
        value.as_object().cloned().expect("object")
    }

    fn small() -> SizeLimits {
        SizeLimits {
            max_string_bytes: 4,
            max_document_bytes: 64,
        }
    }

    #[test]
    fn a_string_at_the_cap_passes_and_one_byte_more_is_refused_by_path() {
        let limits = small();
        assert!(
            limits
                .check_strings(&doc(json!({"title": "abcd"})), None)
                .is_ok()
        );
        let cases = [
            (json!({"title": "abcde"}), "title"),
            (json!({"name": {"givenName": "abcde"}}), "name.givenName"),
            (
                json!({"emails": [{"value": "a"}, {"value": "abcde"}]}),
                "emails.value",
            ),
            (
                json!({ENTERPRISE: {"department": "abcde"}}),
                &format!("{ENTERPRISE}:department"),
            ),
            (
                json!({ENTERPRISE: {"manager": {"displayName": "abcde"}}}),
                &format!("{ENTERPRISE}:manager.displayName"),
            ),
        ];
        for (body, path) in cases {
            let error = limits.check_strings(&doc(body), None).expect_err(path);
            assert_eq!(error.scim_type, Some(crate::ScimType::InvalidValue));
            assert!(
                error.detail.starts_with(&format!("{path} is 5 bytes")),
                "{}",
                error.detail
            );
            assert!(error.detail.contains("at most 4 bytes"), "{}", error.detail);
        }
    }

    #[test]
    fn a_long_string_already_stored_is_kept() {
        let limits = small();
        let before = doc(json!({"title": "abcdef", "active": true}));
        let after = doc(json!({"title": "abcdef", "active": false}));
        assert!(limits.check_strings(&after, Some(&before)).is_ok());
        let changed = doc(json!({"title": "abcdeg"}));
        assert!(limits.check_strings(&changed, Some(&before)).is_err());
    }

    #[test]
    fn a_document_over_the_cap_is_refused_unless_it_was_already_and_does_not_grow() {
        let limits = small();
        let fits = doc(json!({"a": "x"}));
        assert!(limits.check_document(&fits, None).is_ok());
        let big =
            doc(json!({"a": "0123456789", "b": "0123456789", "c": "0123456789", "d": "0123456"}));
        assert!(document_bytes(&big) > 64);
        let error = limits.check_document(&big, None).expect_err("over");
        assert!(
            error.detail.contains("at most 64 bytes"),
            "{}",
            error.detail
        );
        assert!(limits.check_document(&big, Some(&fits)).is_err());
        let smaller =
            doc(json!({"a": "0123456789", "b": "0123456789", "c": "0123456789", "d": "012345"}));
        assert!(limits.check_document(&smaller, Some(&big)).is_ok());
        assert!(limits.check_document(&big, Some(&smaller)).is_err());
    }

    #[test]
    fn document_bytes_is_the_length_of_the_json_text() {
        let value = doc(json!({"userName": "é", "emails": [{"value": "a@x.test"}]}));
        let text = serde_json::to_string(&value).expect("json");
        assert_eq!(document_bytes(&value), text.len());
    }
}
