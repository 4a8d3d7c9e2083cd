//! Case-insensitive SCIM endpoint names: `/scim/v2/users` routes as
//! `/scim/v2/Users` (Microsoft's reference collection spells it so;
//! conformance/README.md, Sources: [entra-validator]). Only the fixed segments change case; ids, schema URNs
//! and the query string stay exactly as sent.

use axum::extract::Request;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;

use super::SCIM_BASE_PATH;

/// The endpoints right under the SCIM base path, spelled as routed.
const ENDPOINTS: [&str; 8] = [
    "Users",
    "Groups",
    "Bulk",
    "ServiceProviderConfig",
    "ResourceTypes",
    "Schemas",
    "Me",
    ".search",
];

/// The segment after `/Users` or `/Groups` that is no id.
const SEARCH: &str = ".search";

/// Rewrites a request for a SCIM endpoint spelled in another case to the
/// canonical spelling, before routing.
pub(super) fn canonical_endpoint(mut request: Request) -> Request {
    if let Some(uri) = canonical_uri(request.uri()) {
        *request.uri_mut() = uri;
    }
    request
}

/// `uri` with its endpoint segments spelled as routed; `None` when they
/// already are, or the path is no SCIM endpoint.
fn canonical_uri(uri: &Uri) -> Option<Uri> {
    let path = canonical_path(uri.path())?;
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// `path` with its endpoint segments spelled as routed; `None` when
/// nothing changes.
fn canonical_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix(SCIM_BASE_PATH)?.strip_prefix('/')?;
    let mut segments = rest.splitn(3, '/');
    let first = segments.next()?;
    let second = segments.next();
    let tail = segments.next();
    let endpoint = ENDPOINTS.iter().find(|e| e.eq_ignore_ascii_case(first))?;
    let search = matches!(*endpoint, "Users" | "Groups")
        && second.is_some_and(|s| s.eq_ignore_ascii_case(SEARCH));
    let second = if search { Some(SEARCH) } else { second };
    let mut canonical = format!("{SCIM_BASE_PATH}/{endpoint}");
    for segment in [second, tail].into_iter().flatten() {
        canonical.push('/');
        canonical.push_str(segment);
    }
    (canonical != path).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_in_any_case_become_the_routed_spelling() {
        let cases = [
            ("/scim/v2/users", Some("/scim/v2/Users")),
            ("/scim/v2/USERS/AbC-1", Some("/scim/v2/Users/AbC-1")),
            ("/scim/v2/groups/.SEARCH", Some("/scim/v2/Groups/.search")),
            ("/scim/v2/users/.search", Some("/scim/v2/Users/.search")),
            (
                "/scim/v2/serviceproviderconfig",
                Some("/scim/v2/ServiceProviderConfig"),
            ),
            (
                "/scim/v2/schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                Some("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
            ),
            (
                "/scim/v2/resourcetypes/User",
                Some("/scim/v2/ResourceTypes/User"),
            ),
            ("/scim/v2/bulk", Some("/scim/v2/Bulk")),
            ("/scim/v2/.SEARCH", Some("/scim/v2/.search")),
            ("/scim/v2/Users", None),
            ("/scim/v2/Users/x/y", None),
            ("/scim/v2/Widgets", None),
            ("/scim/v2", None),
            ("/api/v1/users", None),
            ("/scim/v2/users/x/.search", Some("/scim/v2/Users/x/.search")),
        ];
        for (path, expected) in cases {
            assert_eq!(canonical_path(path).as_deref(), expected, "{path}");
        }
    }

    #[test]
    fn the_query_string_is_kept_as_sent() {
        let uri: Uri = "/scim/v2/users?filter=userName%20eq%20%22A%22&count=1"
            .parse()
            .expect("uri");
        assert_eq!(
            canonical_uri(&uri).map(|u| u.to_string()).as_deref(),
            Some("/scim/v2/Users?filter=userName%20eq%20%22A%22&count=1")
        );
    }
}
