//! `/Users`, `/Groups`, `/.search` and root queries: extract, call the
//! domain, answer in SCIM.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::body::{ScimBody, resource_response, scim_json};
use super::error::ApiError;
use super::pieces;
use crate::domain::{Kind, Listing, Principal, etag_matches};
use scim::ScimError;
use scim::list::ListRequest;

/// The query string, decoded (`+` is a space, as Entra ID sends it).
type Pairs = Query<Vec<(String, String)>>;

/// The `{id}` of a resource path. Its rejection (e.g. invalid UTF-8) is a
/// SCIM 404, not axum's plain-text 400.
pub struct ResourceId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let not_found = || ScimError::not_found("no resource has this id").into();
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| not_found())?;
        if !super::plausible_id(&id) {
            return Err(not_found());
        }
        Ok(ResourceId(id))
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(kind): Extension<Kind>,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_query(pairs)?;
    let listing = state.domain.listing(&who.tenant_id, kind, &request).await?;
    Ok(list_response(&state, listing))
}

/// `POST /Users/.search`, `POST /Groups/.search` (RFC 7644 §3.4.3).
pub async fn search(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(kind): Extension<Kind>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_search(&body)?;
    let listing = state.domain.listing(&who.tenant_id, kind, &request).await?;
    Ok(list_response(&state, listing))
}

/// A list answered whole, or written in pieces as the client reads it.
fn list_response(state: &AppState, listing: Listing) -> Response {
    match listing {
        Listing::Whole(list) => scim_json(StatusCode::OK, &list),
        Listing::Piecewise(list) => {
            let domain = Arc::clone(&state.domain);
            pieces::piecewise(StatusCode::OK, move |out| async move {
                domain.write_list_piecewise(list, &out).await
            })
        }
    }
}

/// `GET /scim/v2?filter=…` (RFC 7644 §3.4.2.1).
pub async fn list_root(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_query(pairs)?;
    let list = state.domain.search_root(&who.tenant_id, &request).await?;
    Ok(scim_json(StatusCode::OK, &list))
}

/// `POST /.search` at the root.
pub async fn search_root(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_search(&body)?;
    let list = state.domain.search_root(&who.tenant_id, &request).await?;
    Ok(scim_json(StatusCode::OK, &list))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(kind): Extension<Kind>,
    Query(pairs): Pairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let projection = state
        .domain
        .projection(kind, &ListRequest::from_query(pairs)?)?;
    let domain = &state.domain;
    let created = match kind {
        Kind::Users => domain.create_user(&who, &body, &projection).await?,
        Kind::Groups => domain.create_group(&who, &body, &projection).await?,
    };
    Ok(resource_response(StatusCode::CREATED, &created))
}

/// The value of a request header, if it is text.
fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(kind): Extension<Kind>,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    let projection = state
        .domain
        .projection(kind, &ListRequest::from_query(pairs)?)?;
    let domain = &state.domain;
    let (found, members) = match kind {
        Kind::Users => (domain.user(&who.tenant_id, &id, &projection).await?, None),
        Kind::Groups => {
            domain
                .group_piecewise(&who.tenant_id, &id, &projection)
                .await?
        }
    };
    // RFC 7644 §3.14: If-None-Match with the current version → 304.
    if let Some(list) = header(&headers, header::IF_NONE_MATCH)
        && etag_matches(list, found.version)
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(etag) = HeaderValue::from_str(&found.etag()) {
            response.headers_mut().insert(header::ETAG, etag);
        }
        return Ok(response);
    }
    let Some(group) = members else {
        return Ok(resource_response(StatusCode::OK, &found));
    };
    // A group's members, however many, are written in pieces.
    let domain = Arc::clone(&state.domain);
    let mut response = pieces::piecewise(StatusCode::OK, move |out| async move {
        domain.write_group_piecewise(group, &out).await
    });
    if let Ok(etag) = HeaderValue::from_str(&found.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(kind): Extension<Kind>,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Query(pairs): Pairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let projection = state
        .domain
        .projection(kind, &ListRequest::from_query(pairs)?)?;
    let if_match = header(&headers, header::IF_MATCH);
    let domain = &state.domain;
    let replaced = match kind {
        Kind::Users => {
            domain
                .replace_user(&who, &id, &body, &projection, if_match)
                .await?
        }
        Kind::Groups => {
            domain
                .replace_group(&who, &id, &body, &projection, if_match)
                .await?
        }
    };
    Ok(resource_response(StatusCode::OK, &replaced))
}

/// PATCH: users answer 200 with the resource; groups answer 204, or 200
/// with the resource when `attributes`/`excludedAttributes` ask for one
/// (RFC 7644 §3.5.2).
pub async fn patch(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(kind): Extension<Kind>,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Query(pairs): Pairs,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let request = ListRequest::from_query(pairs)?;
    let projection = state.domain.projection(kind, &request)?;
    let if_match = header(&headers, header::IF_MATCH);
    let domain = &state.domain;
    match kind {
        Kind::Users => {
            let user = domain
                .patch_user(&who, &id, &body, &projection, if_match)
                .await?;
            Ok(resource_response(StatusCode::OK, &user))
        }
        Kind::Groups => {
            let wants_body = request.attributes.is_some() || request.excluded_attributes.is_some();
            let group = domain
                .patch_group(
                    &who,
                    &id,
                    &body,
                    wants_body.then_some(&projection),
                    if_match,
                )
                .await?;
            Ok(match group {
                Some(group) => resource_response(StatusCode::OK, &group),
                None => StatusCode::NO_CONTENT.into_response(),
            })
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(kind): Extension<Kind>,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let if_match = header(&headers, header::IF_MATCH);
    match kind {
        Kind::Users => state.domain.delete_user(&who, &id, if_match).await?,
        Kind::Groups => state.domain.delete_group(&who, &id, if_match).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}
