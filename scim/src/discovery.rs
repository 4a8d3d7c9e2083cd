//! Discovery documents (RFC 7643 §5, §6; RFC 7644 §4). They state only what
//! scimd implements today: a client that reads them must be able to rely on them.

use serde_json::{Value, json};

use super::list::MAX_COUNT;
use super::schema::{ResourceSchema, Schemas};

const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// The limits advertised: pagination (RFC 9865 §4) and Bulk (RFC 7644 §3.7).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub default_page_size: u64,
    pub max_page_size: u64,
    pub cursor_timeout_seconds: i64,
    pub bulk_max_operations: usize,
    pub bulk_max_payload_size: usize,
}

/// `/ServiceProviderConfig`; `base` is the absolute SCIM base URL.
pub fn service_provider_config(base: &str, limits: Limits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://github.com/scimd/scimd#readme",
        "patch": { "supported": true },
        "bulk": {
            "supported": true,
            "maxOperations": limits.bulk_max_operations,
            "maxPayloadSize": limits.bulk_max_payload_size,
        },
        "filter": { "supported": true, "maxResults": MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": limits.default_page_size,
            "maxPageSize": limits.max_page_size,
            "cursorTimeout": limits.cursor_timeout_seconds,
        },
        "etag": { "supported": true },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A scimd token with scope `scim`, sent as `Authorization: Bearer <token>`.",
                "primary": true
            },
            {
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "Any user name, with a scimd token with scope `scim` as the password."
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        }
    })
}

/// One `/ResourceTypes/{name}` document.
pub fn resource_type(base: &str, resource: &ResourceSchema) -> Value {
    let extensions: Vec<Value> = resource
        .extensions
        .iter()
        .map(|s| json!({ "schema": s.id, "required": false }))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE],
        "id": resource.name,
        "name": resource.name,
        "endpoint": resource.endpoint,
        "description": format!("{} accounts provisioned by an identity provider", resource.name),
        "schema": resource.core.id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{}", resource.name),
        }
    })
}

/// Every resource type, in the order `/ResourceTypes` lists them.
pub fn resource_types(schemas: &Schemas) -> [&ResourceSchema; 2] {
    [&schemas.user, &schemas.group]
}

/// A schema document with its absolute `meta.location`.
pub fn schema_document(base: &str, document: &Value) -> Value {
    let mut document = document.clone();
    if let (Some(id), Some(meta)) = (
        document
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        document.get_mut("meta").and_then(Value::as_object_mut),
    ) {
        meta.insert(
            "location".into(),
            Value::String(format!("{base}/Schemas/{id}")),
        );
    }
    document
}
