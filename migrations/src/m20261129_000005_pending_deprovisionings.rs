//! Pending deprovisionings: the IdP's refused deactivations and deletions,
//! kept until the blockers are gone (completed) or someone says no
//! (cancelled). Users suspended before this migration get one each.

use sea_orm::{ConnectionTrait, Statement, Value};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, string, string_null, text};

use crate::{index, tenant_fk, text_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let string = |name: &'static str| text_column(string(name), postgres);
        let string_null = |name: &'static str| text_column(string_null(name), postgres);
        m.create_table(
            Table::create()
                .table("deprovisionings")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                // No foreign key: a completed deletion outlives its user.
                .col(string("user_id"))
                .col(string("user_name"))
                .col(string_null("display_name"))
                // "deactivate" or "delete".
                .col(string("requested"))
                // "owns_assets" or "last_admin".
                .col(string("reason"))
                // "pending", "completed" or "cancelled".
                .col(string("state"))
                .col(string("requested_by"))
                .col(big_integer("requested_at"))
                .col(big_integer("attempts"))
                // JSON: [{"kind","id","name"}] as of the last refusal.
                .col(text("blockers"))
                .col(string_null("last_idp_signal"))
                .col(big_integer_null("last_idp_signal_at"))
                .col(big_integer_null("resolved_at"))
                .col(string_null("resolved_by"))
                .col(big_integer("updated_at"))
                .foreign_key(&mut tenant_fk("deprovisionings"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "deprovisionings",
            "deprovisionings_tenant_user",
            &["tenant_id", "user_id", "state"],
        )
        .await?;
        index(
            m,
            "deprovisionings",
            "deprovisionings_tenant_state",
            &["tenant_id", "state", "requested_at"],
        )
        .await?;
        backfill(m).await
    }
}

/// One pending request for every user suspended today: the newest blocked
/// deactivation or deletion in the audit log says who asked and when;
/// without one, the requester is "before upgrade".
async fn backfill(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = db.get_database_backend();
    let suspended = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, tenant_id, user_name, document, updated_at FROM users \
             WHERE access = 'suspended'",
        ))
        .await?;
    for user in suspended {
        let id: String = user.try_get("", "id")?;
        let tenant_id: String = user.try_get("", "tenant_id")?;
        let user_name: String = user.try_get("", "user_name")?;
        let document: String = user.try_get("", "document")?;
        let updated_at: i64 = user.try_get("", "updated_at")?;
        let display_name = serde_json::from_str::<serde_json::Value>(&document)
            .ok()
            .and_then(|doc| doc.get("displayName")?.as_str().map(str::to_owned));
        let refusal = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql(
                    backend,
                    "SELECT action, actor, at FROM audit_events \
                     WHERE tenant_id = ? AND target_id = ? AND outcome = 'blocked' \
                     AND action IN ('user.deactivate', 'user.delete') \
                     ORDER BY id DESC LIMIT 1",
                ),
                [tenant_id.clone().into(), id.clone().into()],
            ))
            .await?;
        let (requested, requested_by, requested_at) = match refusal {
            Some(row) => {
                let action: String = row.try_get("", "action")?;
                let requested = if action == "user.delete" {
                    "delete"
                } else {
                    "deactivate"
                };
                (
                    requested,
                    row.try_get::<String>("", "actor")?,
                    row.try_get::<i64>("", "at")?,
                )
            }
            None => ("deactivate", "before upgrade".to_owned(), updated_at),
        };
        let blockers = owned_blockers(db, &tenant_id, &id).await?;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql(
                backend,
                "INSERT INTO deprovisionings (id, tenant_id, user_id, user_name, display_name, \
                 requested, reason, state, requested_by, requested_at, attempts, blockers, \
                 updated_at) VALUES (?, ?, ?, ?, ?, ?, 'owns_assets', 'pending', ?, ?, 1, ?, ?)",
            ),
            [
                Value::from(format!("pre-upgrade-{id}")),
                tenant_id.into(),
                id.into(),
                user_name.into(),
                display_name.into(),
                requested.into(),
                requested_by.into(),
                requested_at.into(),
                blockers.into(),
                requested_at.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// What the user owns, as the blockers' JSON.
async fn owned_blockers(
    db: &SchemaManagerConnection<'_>,
    tenant_id: &str,
    user_id: &str,
) -> Result<String, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql(
                backend,
                "SELECT kind, id, name FROM assets WHERE tenant_id = ? AND owner_id = ? \
                 UNION ALL SELECT 'group', id, display_name FROM groups \
                 WHERE tenant_id = ? AND owner_id = ?",
            ),
            [
                tenant_id.into(),
                user_id.into(),
                tenant_id.into(),
                user_id.into(),
            ],
        ))
        .await?;
    let mut blockers = Vec::new();
    for row in rows {
        blockers.push(serde_json::json!({
            "kind": row.try_get::<String>("", "kind")?,
            "id": row.try_get::<String>("", "id")?,
            "name": row.try_get::<String>("", "name")?,
        }));
    }
    Ok(serde_json::Value::Array(blockers).to_string())
}

/// `?` placeholders as the backend wants them.
fn sql(backend: sea_orm::DatabaseBackend, text: &str) -> String {
    if backend != sea_orm::DatabaseBackend::Postgres {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0;
    for c in text.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}
