//! The business-phone extension of User (`urn:scimd:schemas:extension:phone:2.0:User`):
//! what scimd checks beyond the types the schema gives.

use serde_json::Value;

use scim::ScimError;
use scim::resource::Document;
use scim::schema::PHONE_USER_SCHEMA;

/// Most characters of a `callerId`: an E.164 number has at most 15
/// digits, which leaves room for a `+`, spaces and separators.
pub(super) const MAX_CALLER_ID_CHARS: usize = 32;

/// Refuses a `callerId` that cannot be a phone number shown on outbound
/// calls: it may hold digits, spaces, `+` (first only), `-`, `(` and `)`,
/// at least one digit, and at most [`MAX_CALLER_ID_CHARS`] characters. An
/// empty one is unassigned (RFC 7643 §2.5).
pub(super) fn check_phone(doc: &Document) -> Result<(), ScimError> {
    let caller_id = doc
        .get(PHONE_USER_SCHEMA)
        .and_then(|phone| phone.get("callerId"))
        .and_then(Value::as_str);
    match caller_id {
        Some(number) if !number.is_empty() => check_caller_id(number),
        _ => Ok(()),
    }
}

fn check_caller_id(number: &str) -> Result<(), ScimError> {
    let refuse = |problem: String| {
        ScimError::invalid_value(format!(
            "{PHONE_USER_SCHEMA}:callerId {problem}; give a phone number such as \
             \"+49 30 901820\": digits, spaces, '-', '(', ')' and a leading '+', \
             at most {MAX_CALLER_ID_CHARS} characters"
        ))
    };
    let length = number.chars().count();
    if length > MAX_CALLER_ID_CHARS {
        return Err(refuse(format!("is {length} characters long")));
    }
    let misplaced = number.chars().enumerate().find(|&(at, c)| match c {
        '0'..='9' | ' ' | '-' | '(' | ')' => false,
        '+' => at != 0,
        _ => true,
    });
    if let Some((at, c)) = misplaced {
        return Err(refuse(format!(
            "has `{}` at character {}",
            c.escape_debug(),
            at + 1
        )));
    }
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return Err(refuse(format!("`{number}` has no digit")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_caller_id(value: Value) -> Document {
        let doc = json!({"userName": "ann", PHONE_USER_SCHEMA: {"callerId": value}});
        doc.as_object().cloned().expect("object")
    }

    fn detail(value: &str) -> String {
        check_phone(&with_caller_id(json!(value)))
            .expect_err("refused")
            .detail
    }

    #[test]
    fn phone_numbers_as_people_write_them_are_accepted() {
        for number in [
            "+4930901820",
            "+49 30 901820",
            "+1 (425) 555-0100",
            "030 901820-12",
            "4021",
            "",
        ] {
            assert!(
                check_phone(&with_caller_id(json!(number))).is_ok(),
                "{number}"
            );
        }
    }

    #[test]
    fn a_user_without_a_caller_id_passes() {
        let doc = json!({"userName": "ann", PHONE_USER_SCHEMA: {"extension": "4021"}});
        assert!(check_phone(doc.as_object().expect("object")).is_ok());
        assert!(check_phone(&Document::new()).is_ok());
    }

    #[test]
    fn a_caller_id_with_letters_names_the_first_wrong_character() {
        let detail = detail("+49 30 90182x");
        assert!(detail.contains("has `x` at character 13"), "{detail}");
        assert!(detail.starts_with("urn:scimd:schemas:extension:phone:2.0:User:callerId"));
        assert!(detail.contains("\"+49 30 901820\""), "{detail}");
    }

    #[test]
    fn a_plus_is_accepted_only_in_front() {
        assert!(detail("49+30").contains("has `+` at character 3"));
    }

    #[test]
    fn a_caller_id_needs_a_digit_and_at_most_32_characters() {
        assert!(detail("( - )").contains("has no digit"));
        let long = "1".repeat(MAX_CALLER_ID_CHARS + 1);
        assert!(detail(&long).contains("is 33 characters long"));
        assert!(check_phone(&with_caller_id(json!("1".repeat(MAX_CALLER_ID_CHARS)))).is_ok());
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert!(detail("+49\n30").contains("has `\\n` at character 4"));
    }
}
