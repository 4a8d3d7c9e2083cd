//! The work budget of a PATCH (issue 13): the sum over its operations of
//! the values each carries plus the stored values its path must scan. A
//! request over the budget is refused with 400 `tooMany` as soon as the
//! count passes it, so no PATCH can spend unbounded CPU.

use serde_json::Value;

use super::Operation;
use crate::error::ScimError;

/// Default work budget of one PATCH, in values: far above what an IdP
/// sends (Okta adds 10,000 members in one operation: 10,000 units).
pub const DEFAULT_PATCH_BUDGET: u64 = 1_000_000;

/// Work spent so far by a PATCH, against its limit.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: u64,
    spent: u64,
}

impl Budget {
    /// A budget of `limit` units (values carried or scanned).
    pub fn new(limit: u64) -> Self {
        Budget { limit, spent: 0 }
    }

    /// No limit: the work is only counted.
    pub fn unlimited() -> Self {
        Budget::new(u64::MAX)
    }

    /// Units spent so far.
    pub fn spent(&self) -> u64 {
        self.spent
    }

    /// Whether more was spent than the limit allows.
    pub fn exhausted(&self) -> bool {
        self.spent > self.limit
    }

    /// Spends `units`; 400 `tooMany` naming the limit once they pass it.
    pub fn charge(&mut self, units: u64) -> Result<(), ScimError> {
        self.spent = self.spent.saturating_add(units);
        if self.spent > self.limit {
            return Err(ScimError::too_many(format!(
                "this PATCH needs more work than the limit of {} values allows \
                 (each operation counts the values it carries plus the stored values \
                 its path scans); send it as several smaller requests",
                self.limit
            )));
        }
        Ok(())
    }
}

/// How many values an operation carries: the items of a list, else one
/// (none without a value).
pub fn carried(operation: &Operation) -> u64 {
    match &operation.value {
        None | Some(Value::Null) => 0,
        Some(Value::Array(items)) => items.len() as u64,
        Some(_) => 1,
    }
}

/// How many stored values an attribute holds: the items of a list, else
/// one (none when absent).
pub(super) fn stored(value: Option<&Value>) -> u64 {
    match value {
        None | Some(Value::Null) => 0,
        Some(Value::Array(items)) => items.len() as u64,
        Some(_) => 1,
    }
}
