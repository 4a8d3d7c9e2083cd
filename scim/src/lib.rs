//! The SCIM protocol, free of HTTP and storage: schemas and schema-driven
//! validation, the filter language, list and pagination types, discovery
//! documents, `ScimError`, and the key that compares userNames.

pub mod discovery;
pub mod error;
pub mod eval;
pub mod extensions;
pub mod filter;
pub mod limits;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod user_name;

pub use error::{ScimError, ScimType};
pub use schema::Schemas;
