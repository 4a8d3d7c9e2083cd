//! Stored records → SCIM representations, with `meta` and computed attributes.

use serde_json::{Value, json};

use super::Domain;
use crate::clock::format_millis;
use crate::store::{Member, Membership, ResourceRecord};
use scim::resource::{Document, Meta, render};
use scim::schema::ResourceSchema;

/// A rendered resource and its version, for the `ETag` and `Location` headers.
#[derive(Debug, Clone)]
pub struct Resource {
    pub body: Value,
    /// The stored version, behind `meta.version` and the `ETag`.
    pub version: i64,
    /// Absolute URL of the resource, equal to `meta.location`.
    pub location: String,
}

impl Resource {
    /// The weak entity tag, `W/"<version>"`, equal to `meta.version`.
    pub fn etag(&self) -> String {
        etag(self.version)
    }
}

/// The weak ETag of a version (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` / `If-None-Match` list names `version`: `*`, or
/// an entity tag equal to it under weak comparison (RFC 9110 §8.8.3.2).
pub fn etag_matches(list: &str, version: i64) -> bool {
    let ours = version.to_string();
    list.split(',').map(str::trim).any(|tag| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) == Some(ours.as_str())
    })
}

/// Checks `If-Match` against the current version: 412 when stale.
pub(super) fn check_if_match(
    if_match: Option<&str>,
    version: i64,
) -> Result<(), super::DomainError> {
    match if_match {
        Some(list) if !etag_matches(list, version) => {
            Err(super::DomainError::PreconditionFailed(format!(
                "the resource has changed (its version is now {}); read it again and retry",
                etag(version)
            )))
        }
        _ => Ok(()),
    }
}

impl Domain {
    pub(super) fn location(&self, resource: &ResourceSchema, id: &str) -> String {
        format!("{}{}/{id}", self.scim_base, resource.endpoint)
    }

    fn render_record(
        &self,
        schema: &ResourceSchema,
        record: &ResourceRecord,
        doc: &Document,
    ) -> Resource {
        let location = self.location(schema, &record.id);
        let etag = etag(record.version);
        let created = format_millis(record.created_at);
        let last_modified = format_millis(record.updated_at);
        let body = render(
            schema,
            &record.id,
            doc,
            &Meta {
                resource_type: schema.name,
                created: &created,
                last_modified: &last_modified,
                location: &location,
                version: &etag,
            },
        );
        Resource {
            body,
            version: record.version,
            location,
        }
    }

    /// A user with its computed, read-only `groups` (RFC 7643 §4.1.2).
    pub(super) fn render_user<'m>(
        &self,
        record: &ResourceRecord,
        memberships: impl Iterator<Item = &'m Membership>,
    ) -> Resource {
        let groups: Vec<Value> = memberships
            .map(|m| {
                json!({
                    "value": m.group_id,
                    "$ref": self.location(&self.schemas.group, &m.group_id),
                    "display": m.group_display_name,
                    "type": "direct",
                })
            })
            .collect();
        let schema = &self.schemas.user;
        if groups.is_empty() {
            return self.render_record(schema, record, &record.document);
        }
        let mut doc = record.document.clone();
        doc.insert("groups".into(), Value::Array(groups));
        self.render_record(schema, record, &doc)
    }

    /// A group with its members, which live in their own rows.
    pub(super) fn render_group<'m>(
        &self,
        record: &ResourceRecord,
        members: impl Iterator<Item = &'m Member>,
    ) -> Resource {
        let members: Vec<Value> = members.map(|m| self.render_member(m)).collect();
        let schema = &self.schemas.group;
        if members.is_empty() && !record.document.contains_key("members") {
            return self.render_record(schema, record, &record.document);
        }
        // Members come from their rows only: a copy left in a document
        // written before URN-qualified `members` paths reached the rows is
        // never shown.
        let mut doc = record.document.clone();
        if members.is_empty() {
            doc.shift_remove("members");
        } else {
            doc.insert("members".into(), Value::Array(members));
        }
        self.render_record(schema, record, &doc)
    }

    /// One value of a group's `members` (RFC 7643 §4.2), with the
    /// member's current name as `display` when it was read.
    pub(super) fn render_member(&self, member: &Member) -> Value {
        let schema = if member.kind == "Group" {
            &self.schemas.group
        } else {
            &self.schemas.user
        };
        let mut value = json!({
            "value": member.id,
            "$ref": self.location(schema, &member.id),
            "type": member.kind,
        });
        if let (Some(display), Value::Object(fields)) = (&member.display, &mut value) {
            fields.insert("display".into(), Value::String(display.clone()));
        }
        value
    }
}
