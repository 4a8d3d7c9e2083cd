//! SCIM schema definitions (RFC 7643 §7), loaded from the JSON files in
//! `schemas/` that `/Schemas` also serves, so validation and discovery can
//! never disagree.

use serde::Deserialize;
use serde_json::Value;

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// URN of the Enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of scimd's business-phone extension of User: `extension`,
/// `callerId` and `site`, the attributes an IT admin maps in Entra's
/// attribute mapping or Okta's Profile Editor.
pub const PHONE_USER_SCHEMA: &str = "urn:scimd:schemas:extension:phone:2.0:User";

const USER_JSON: &str = include_str!("../../schemas/user.json");
const GROUP_JSON: &str = include_str!("../../schemas/group.json");
const ENTERPRISE_USER_JSON: &str = include_str!("../../schemas/enterprise_user.json");
const PHONE_USER_JSON: &str = include_str!("../../schemas/phone_user.json");
/// The schemas of the discovery documents themselves (RFC 7643 §8.7.2).
const META_JSON: [&str; 3] = [
    include_str!("../../schemas/service_provider_config.json"),
    include_str!("../../schemas/resource_type.json"),
    include_str!("../../schemas/schema.json"),
];

/// The common attributes of every resource (RFC 7643 §3.1), which the
/// schema documents do not list.
const COMMON_JSON: &str = r#"[
  {"name": "id", "type": "string", "caseExact": true, "mutability": "readOnly", "returned": "always"},
  {"name": "externalId", "type": "string", "caseExact": true},
  {"name": "schemas", "type": "reference", "multiValued": true, "caseExact": true,
   "mutability": "readOnly", "returned": "always"},
  {"name": "meta", "type": "complex", "mutability": "readOnly", "subAttributes": [
    {"name": "resourceType", "type": "string", "caseExact": true, "mutability": "readOnly"},
    {"name": "created", "type": "dateTime", "mutability": "readOnly"},
    {"name": "lastModified", "type": "dateTime", "mutability": "readOnly"},
    {"name": "location", "type": "reference", "caseExact": true, "mutability": "readOnly"},
    {"name": "version", "type": "string", "caseExact": true, "mutability": "readOnly"}
  ]}
]"#;

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttributeType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// How an attribute may be written (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

/// One attribute definition with its characteristics; defaults follow RFC 7643 §2.2.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub mutability: Mutability,
    #[serde(default)]
    pub returned: Returned,
    #[serde(default)]
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// The sub-attribute called `name`, compared case-insensitively (RFC 7643 §2.1).
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.sub_attributes, name)
    }
}

/// A schema: its URN and its attributes.
#[derive(Debug, Clone, Deserialize)]
pub struct Schema {
    pub id: String,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// The attribute called `name`, compared case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.attributes, name)
    }
}

fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A resource type: its core schema and its schema extensions (RFC 7643 §6).
#[derive(Debug)]
pub struct ResourceSchema {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: Schema,
    pub extensions: Vec<Schema>,
    /// `id`, `externalId`, `schemas` and `meta` (RFC 7643 §3.1).
    pub common: Vec<Attribute>,
    /// The schema document as served from `/Schemas`, one per schema.
    pub documents: Vec<Value>,
}

impl ResourceSchema {
    /// A common or core attribute called `name`, compared case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.common, name).or_else(|| self.core.attribute(name))
    }

    /// The extension with URN `urn`, compared case-insensitively (RFC 7644 §3.10).
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

/// All resource types scimd serves, built once at start-up.
#[derive(Debug)]
pub struct Schemas {
    pub user: ResourceSchema,
    pub group: ResourceSchema,
    /// ServiceProviderConfig, ResourceType and Schema: served, not validated.
    pub meta: Vec<Value>,
}

impl Schemas {
    /// Parses the schema files compiled into the binary.
    ///
    /// The files are part of the source tree and checked by a unit test, so
    /// an error here is a build defect, reported at start-up.
    pub fn load() -> Result<Schemas, serde_json::Error> {
        let user_doc: Value = serde_json::from_str(USER_JSON)?;
        let enterprise_doc: Value = serde_json::from_str(ENTERPRISE_USER_JSON)?;
        let phone_doc: Value = serde_json::from_str(PHONE_USER_JSON)?;
        let group_doc: Value = serde_json::from_str(GROUP_JSON)?;
        let common: Vec<Attribute> = serde_json::from_str(COMMON_JSON)?;
        Ok(Schemas {
            user: ResourceSchema {
                name: "User",
                endpoint: "/Users",
                core: Schema::deserialize(&user_doc)?,
                extensions: vec![
                    Schema::deserialize(&enterprise_doc)?,
                    Schema::deserialize(&phone_doc)?,
                ],
                common: common.clone(),
                documents: vec![user_doc, enterprise_doc, phone_doc],
            },
            meta: META_JSON
                .iter()
                .map(|text| serde_json::from_str(text))
                .collect::<Result<_, _>>()?,
            group: ResourceSchema {
                name: "Group",
                endpoint: "/Groups",
                core: Schema::deserialize(&group_doc)?,
                extensions: Vec::new(),
                common,
                documents: vec![group_doc],
            },
        })
    }

    /// Every schema document, in the order `/Schemas` lists them.
    pub fn documents(&self) -> impl Iterator<Item = &Value> {
        self.user
            .documents
            .iter()
            .chain(&self.group.documents)
            .chain(&self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_schema_files_load_with_their_rfc_characteristics() {
        let schemas = Schemas::load().expect("schemas load");
        assert_eq!(schemas.user.core.id, USER_SCHEMA);
        assert_eq!(schemas.group.core.id, GROUP_SCHEMA);
        assert!(
            schemas
                .user
                .extension(&ENTERPRISE_USER_SCHEMA.to_uppercase())
                .is_some()
        );

        let phone = schemas.user.extension(PHONE_USER_SCHEMA).expect("phone");
        for (name, case_exact) in [("extension", true), ("callerId", true), ("site", false)] {
            let attribute = phone.attribute(name).expect(name);
            assert_eq!(attribute.kind, AttributeType::String, "{name}");
            assert!(!attribute.multi_valued && !attribute.required, "{name}");
            assert_eq!(attribute.mutability, Mutability::ReadWrite, "{name}");
            assert_eq!(attribute.returned, Returned::Default, "{name}");
            assert_eq!(attribute.case_exact, case_exact, "{name}");
        }

        let user_name = schemas.user.core.attribute("USERNAME").expect("userName");
        assert!(user_name.required);
        assert!(!user_name.case_exact);

        let password = schemas.user.core.attribute("password").expect("password");
        assert_eq!(password.returned, Returned::Never);

        let groups = schemas.user.core.attribute("groups").expect("groups");
        assert_eq!(groups.mutability, Mutability::ReadOnly);

        let emails = schemas.user.core.attribute("emails").expect("emails");
        assert!(emails.multi_valued);
        assert_eq!(
            emails.sub_attribute("primary").map(|a| a.kind),
            Some(AttributeType::Boolean)
        );
    }
}
