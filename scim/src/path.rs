//! Resolving attribute paths against a resource type's schemas (RFC 7644
//! §3.10): case-insensitive names, URN prefixes, sub-attributes.

use super::filter::AttrPath;
use super::schema::{Attribute, AttributeType, ResourceSchema};

/// An attribute path resolved to canonical names and the characteristics
/// of its leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The extension URN holding the attribute, if it is an extension's.
    pub extension: Option<String>,
    /// The top-level attribute, spelled as the schema spells it.
    pub name: String,
    /// The sub-attribute, spelled as the schema spells it.
    pub sub: Option<String>,
    /// The type of the leaf (the sub-attribute when there is one).
    pub kind: AttributeType,
    pub case_exact: bool,
    /// Whether the top-level attribute is multi-valued.
    pub multi_valued: bool,
}

impl Resolved {
    /// True for the core or common attribute `name` (and `sub`), exactly
    /// as the schema spells them.
    pub fn is(&self, name: &str, sub: Option<&str>) -> bool {
        self.extension.is_none() && self.name == name && self.sub.as_deref() == sub
    }

    fn leaf(extension: Option<&str>, top: &Attribute, leaf: &Attribute, sub: bool) -> Resolved {
        Resolved {
            extension: extension.map(str::to_owned),
            name: top.name.clone(),
            sub: sub.then(|| leaf.name.clone()),
            kind: leaf.kind,
            case_exact: leaf.case_exact,
            multi_valued: top.multi_valued,
        }
    }
}

/// Resolves `path` for `schema`; `None` when no such attribute exists.
pub fn resolve(schema: &ResourceSchema, path: &AttrPath) -> Option<Resolved> {
    let (extension, top) = match &path.urn {
        // An unqualified name is a core attribute, else an extension's
        // (Entra filters on `manager eq "…"`).
        None => match schema.attribute(&path.name) {
            Some(attribute) => (None, attribute),
            None => schema.extensions.iter().find_map(|extension| {
                extension
                    .attribute(&path.name)
                    .map(|attribute| (Some(extension.id.as_str()), attribute))
            })?,
        },
        Some(urn) if urn.eq_ignore_ascii_case(&schema.core.id) => {
            (None, schema.attribute(&path.name)?)
        }
        Some(urn) => {
            let extension = schema.extension(urn)?;
            (
                Some(extension.id.as_str()),
                extension.attribute(&path.name)?,
            )
        }
    };
    match &path.sub {
        None => Some(Resolved::leaf(extension, top, top, false)),
        Some(sub) => {
            let leaf = top.sub_attribute(sub)?;
            Some(Resolved::leaf(extension, top, leaf, true))
        }
    }
}

/// The top-level attribute definition behind a resolved path.
pub fn definition<'s>(schema: &'s ResourceSchema, resolved: &Resolved) -> Option<&'s Attribute> {
    match &resolved.extension {
        None => schema.attribute(&resolved.name),
        Some(urn) => schema.extension(urn)?.attribute(&resolved.name),
    }
}

/// Resolves a path inside a value filter (`emails[type eq "work"]`): it
/// names a sub-attribute of `parent`, and is resolved as if that
/// sub-attribute were top-level, since it is evaluated on one value.
pub fn resolve_within(parent: &Attribute, path: &AttrPath) -> Option<Resolved> {
    if path.urn.is_some() || path.sub.is_some() {
        return None;
    }
    let leaf = parent.sub_attribute(&path.name)?;
    Some(Resolved::leaf(None, leaf, leaf, false))
}
