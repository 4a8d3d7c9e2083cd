//! The work budget of a PATCH and the size caps of stored resources
//! (issue 13, DESIGN §8), as the user and group writes use them.
//!
//! A PATCH is applied before the tenant lock is taken, to the document as
//! a plain read finds it, within the budget: a request over the budget is
//! refused without ever waiting for the lock, and under the lock the
//! prepared result is reused when the resource has not changed meanwhile
//! (its version is the same), so the lock is held for the writes only.

use scim::ScimError;
use scim::patch::{self, Budget, MemberChange, Operation};
use scim::resource::Document;
use scim::schema::ResourceSchema;

use super::{Domain, DomainError};
use crate::store::ResourceRecord;

/// A PATCH applied outside the lock to the document of one version.
#[derive(Clone)]
pub(super) struct Prepared {
    version: i64,
    result: Result<Document, ScimError>,
}

impl Domain {
    /// A fresh budget of `--patch-budget` units.
    pub(super) fn patch_budget(&self) -> Budget {
        Budget::new(self.patch_budget)
    }

    /// Applies `operations` to `record` within `budget`. An exhausted
    /// budget is an error now; any other outcome is kept for the write to
    /// report in its usual order (after `If-Match`).
    pub(super) fn prepare_patch(
        &self,
        schema: &ResourceSchema,
        record: &ResourceRecord,
        operations: &[Operation],
        mut budget: Budget,
    ) -> Result<Prepared, ScimError> {
        let result = patch::apply_within(
            schema,
            &record.id,
            &record.document,
            operations,
            &mut budget,
        );
        match result {
            Err(error) if budget.exhausted() => Err(error),
            result => Ok(Prepared {
                version: record.version,
                result,
            }),
        }
    }

    /// The result of a PATCH under the lock, for the locked `old` record:
    /// the prepared one when `old` is the version it was prepared on, else
    /// applied again, within a fresh budget.
    pub(super) fn patched(
        &self,
        schema: &ResourceSchema,
        old: &ResourceRecord,
        operations: &[Operation],
        prepared: Option<Prepared>,
    ) -> Result<Document, ScimError> {
        match prepared {
            // Every change of a document gives it a new version.
            Some(prepared) if prepared.version == old.version => prepared.result,
            _ => patch::apply_within(
                schema,
                &old.id,
                &old.document,
                operations,
                &mut self.patch_budget(),
            ),
        }
    }

    /// Spends `budget` on a group PATCH's member changes: the ids each
    /// carries, plus, for one that clears or replaces the member list, the
    /// members it removes (the stored count, read outside the lock, then
    /// what the operations before it left).
    pub(super) async fn charge_member_changes(
        &self,
        tenant_id: &str,
        group_id: &str,
        changes: &[MemberChange],
        budget: &mut Budget,
    ) -> Result<(), DomainError> {
        let clears =
            |c: &MemberChange| matches!(c, MemberChange::RemoveAll | MemberChange::Replace(_));
        let mut members = if changes.iter().any(clears) {
            self.store.member_count(tenant_id, group_id).await?
        } else {
            0
        };
        for change in changes {
            let units = match change {
                MemberChange::Add(ids) => {
                    members = members.saturating_add(ids.len() as u64);
                    ids.len() as u64
                }
                MemberChange::Remove(ids) => ids.len() as u64,
                MemberChange::RemoveAll => std::mem::take(&mut members),
                MemberChange::Replace(ids) => {
                    std::mem::replace(&mut members, ids.len() as u64) + ids.len() as u64
                }
            };
            budget.charge(units)?;
        }
        Ok(())
    }

    /// Refuses a document over the size caps (`--max-string-bytes`,
    /// `--max-document-bytes`); what `before` already held passes (see
    /// [`scim::limits`]).
    pub(super) fn check_sizes(
        &self,
        doc: &Document,
        before: Option<&Document>,
    ) -> Result<(), ScimError> {
        self.sizes.check(doc, before)
    }
}
