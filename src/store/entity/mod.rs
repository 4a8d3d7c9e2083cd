//! sea-orm entities; they never leave the `store` layer.

pub(crate) mod asset;
pub(crate) mod audit_event;
pub(crate) mod call_record;
pub(crate) mod console_session;
pub(crate) mod deprovisioning;
pub(crate) mod group;
pub(crate) mod group_member;
pub(crate) mod tenant;
pub(crate) mod token;
pub(crate) mod user;
pub(crate) mod user_email;
pub(crate) mod webhook;
pub(crate) mod webhook_delivery;
pub(crate) mod webhook_event;
