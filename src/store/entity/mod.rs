//! sea-orm entities; they never leave the `store` layer.

pub(crate) mod group;
pub(crate) mod group_member;
pub(crate) mod tenant;
pub(crate) mod token;
pub(crate) mod user;
pub(crate) mod user_email;
