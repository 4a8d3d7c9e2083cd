//! Query parameters of list requests (RFC 7644 §3.4.2). Names match
//! case-insensitively, unknown ones are ignored, and `+` decodes to a space
//! (Entra ID encodes `userName eq "a b"` that way).

use crate::scim::ScimError;
use crate::scim::list::Page;

/// The parameters scimd reads from a list request.
#[derive(Debug, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub excluded_attributes: Vec<String>,
}

impl ListParams {
    /// Reads the parameters from decoded query pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<ListParams, ScimError> {
        let mut params = ListParams::default();
        for (name, value) in pairs {
            if name.eq_ignore_ascii_case("filter") {
                params.filter = Some(value);
            } else if name.eq_ignore_ascii_case("startIndex") {
                params.start_index = Some(integer(&name, &value)?);
            } else if name.eq_ignore_ascii_case("count") {
                params.count = Some(integer(&name, &value)?);
            } else if name.eq_ignore_ascii_case("excludedAttributes") {
                params
                    .excluded_attributes
                    .extend(value.split(',').map(|a| a.trim().to_owned()));
            }
        }
        Ok(params)
    }

    /// The page asked for, clamped.
    pub fn page(&self) -> Page {
        Page::new(self.start_index, self.count)
    }

    /// True when `excludedAttributes` names `attribute`.
    pub fn excludes(&self, attribute: &str) -> bool {
        self.excluded_attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

fn integer(name: &str, value: &str) -> Result<i64, ScimError> {
    value
        .trim()
        .parse()
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not `{value}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn names_ignore_case_and_unknown_parameters_are_ignored() {
        let params = ListParams::from_pairs(pairs(&[
            ("FILTER", "userName eq \"a\""),
            ("startindex", "3"),
            ("Count", "7"),
            ("aadOptscim062020", ""),
            ("excludedAttributes", "members, meta"),
        ]))
        .expect("valid");
        assert_eq!(params.filter.as_deref(), Some("userName eq \"a\""));
        assert_eq!(
            params.page(),
            Page {
                start_index: 3,
                count: 7
            }
        );
        assert!(params.excludes("Members"));
    }

    #[test]
    fn a_count_that_is_not_a_number_is_a_clear_400() {
        let error = ListParams::from_pairs(pairs(&[("count", "ten")])).expect_err("invalid");
        assert_eq!(error.status, 400);
        assert!(error.detail.contains("count"));
    }
}
