//! Stored records → SCIM representations, with `meta` and computed attributes.

use serde_json::{Value, json};

use super::Domain;
use crate::clock::format_millis;
use crate::scim::resource::{Document, Meta, render};
use crate::scim::schema::ResourceSchema;
use crate::store::{Member, Membership, ResourceRecord};

/// A rendered resource and its version, for the `ETag` and `Location` headers.
#[derive(Debug, Clone)]
pub struct Resource {
    pub body: Value,
    /// `W/"<version>"`, equal to `meta.version`.
    pub etag: String,
    /// Absolute URL of the resource, equal to `meta.location`.
    pub location: String,
}

/// The weak ETag of a version (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
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
            etag,
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
        let members: Vec<Value> = members
            .map(|m| {
                let schema = if m.kind == "Group" {
                    &self.schemas.group
                } else {
                    &self.schemas.user
                };
                json!({
                    "value": m.id,
                    "$ref": self.location(schema, &m.id),
                    "type": m.kind,
                })
            })
            .collect();
        let schema = &self.schemas.group;
        if members.is_empty() {
            return self.render_record(schema, record, &record.document);
        }
        let mut doc = record.document.clone();
        doc.insert("members".into(), Value::Array(members));
        self.render_record(schema, record, &doc)
    }
}
