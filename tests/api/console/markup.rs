//! Reading the console's pages: a field's value, how often something
//! occurs, and the path of every form of the Users, Settings, Connect
//! and Webhooks pages.

/// The `value` of the input whose `id` is `id`.
pub fn input_value(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {id} in {body}"));
    let tag_start = body[..start].rfind('<').expect("tag start");
    let tag_end = start + body[start..].find('>').expect("tag end");
    let tag = &body[tag_start..tag_end];
    let value = tag
        .split_once("value=\"")
        .unwrap_or_else(|| panic!("no value in {tag}"))
        .1;
    value[..value.find('"').expect("closing quote")].to_owned()
}

/// How many times `needle` occurs in `body`.
pub fn count(body: &str, needle: &str) -> usize {
    body.matches(needle).count()
}

/// The form posts of the pages, with a path for each: every one must
/// refuse a post without the CSRF token or from another origin.
pub fn form_paths(user_id: &str) -> Vec<String> {
    vec![
        format!("/console/users/{user_id}/deactivate"),
        format!("/console/users/{user_id}/reactivate"),
        format!("/console/users/{user_id}/reassign"),
        format!("/console/users/{user_id}/admin"),
        "/console/settings".to_owned(),
        "/console/connect/tokens".to_owned(),
        format!("/console/connect/tokens/{user_id}/revoke"),
        "/console/webhooks".to_owned(),
        format!("/console/webhooks/{user_id}/delete"),
        format!("/console/webhooks/{user_id}/ping"),
    ]
}
