//! The one place scimd reads the wall clock (`clippy.toml` bans it
//! elsewhere), so tests can fix time.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

/// A source of the current time, in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned reading of the clock
    fn now_millis(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// Formats an instant as RFC 3339 UTC with millisecond precision, as SCIM
/// `dateTime` values are written (RFC 7643 §2.3.5).
pub fn format_millis(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_format_as_rfc_3339_utc_with_milliseconds() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(1_764_340_000_123), "2025-11-28T14:26:40.123Z");
    }
}
