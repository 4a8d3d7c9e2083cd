//! What a page reads from its address: its query parameters and the id in
//! its path. A bad address is a console page (400 or 404), never a plain
//! text rejection, and text holding NUL (which PostgreSQL cannot store or
//! compare) is refused before the domain sees it, as the admin API does.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::super::ConsoleError;
use crate::domain::DomainError;

/// A page's query parameters as `T` (a struct of `Option<String>`s that
/// allows unknown parameters, such as `done`).
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let unreadable = || {
            ConsoleError::Domain(DomainError::invalid(
                "this page's address has a parameter it cannot read; \
                 open the page from the navigation and try again",
            ))
        };
        if query.contains('\0') || query.to_ascii_lowercase().contains("%00") {
            return Err(unreadable());
        }
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| PageQuery(value))
            .map_err(|_| unreadable())
    }
}

/// The id in a page's path; one scimd cannot have issued is the 404 page
/// at once.
pub struct PageId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PageId {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) if super::super::super::plausible_id(&id) => Ok(PageId(id)),
            Ok(_) | Err(_) => Err(ConsoleError::NotFound),
        }
    }
}

/// A form without fields of its own (its CSRF token aside).
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// A query string of `pairs` (empty values left out), for links that
/// keep a page's filters.
pub fn query_string(path: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .copied()
        .filter(|(_, value)| !value.is_empty())
        .collect();
    match serde_urlencoded::to_string(&kept) {
        Ok(query) if !query.is_empty() => format!("{path}?{query}"),
        Ok(_) | Err(_) => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_only_the_filters_that_are_set_and_encode_them() {
        assert_eq!(query_string("/console/users", &[]), "/console/users");
        assert_eq!(
            query_string("/console/users", &[("q", "a&b=c"), ("access", "")]),
            "/console/users?q=a%26b%3Dc"
        );
    }
}
