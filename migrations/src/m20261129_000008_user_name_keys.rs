//! userName uniqueness compares a key, NFKC_Casefold of the trimmed value
//! (DESIGN §8), instead of `to_lowercase()`: `user_name_lc` becomes
//! `user_name_key`, computed here in Rust over the rows in batches (SQL
//! cannot compute it).
//!
//! Rows whose keys now collide (NFC and NFD "josé", "STRASSE" and
//! "straße", a trailing zero-width space …) are all kept: within each
//! tenant and key the oldest row has `user_name_collision = 0`, the others
//! 1, 2, …, and the unique index covers `(tenant_id, user_name_key,
//! user_name_collision)`. Every new or renamed row is written with 0, so
//! it collides with the group's 0 and is refused; the store keeps one row
//! of each remaining group at 0 when its 0 leaves. The groups are logged
//! here and listed by `GET /api/v1/users/name-collisions`.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement, Value};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{integer, string};

use crate::text_column;

/// The rows of `users_user_name_collisions`; `store::user_names` spells
/// it the same.
const COLLISIONS: &str = "user_name_collision <> 0";

/// Rows read and updated per statement.
const BATCH: u64 = 500;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        // SQLite alters one column per statement.
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(text_column(
                    string("user_name_key").default("").to_owned(),
                    postgres,
                ))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(integer("user_name_collision").default(0).to_owned())
                .to_owned(),
        )
        .await?;
        fill("user_name_key", m, scim::user_name::key).await?;
        mark_collisions(m).await?;
        m.drop_index(
            Index::drop()
                .name("users_tenant_user_name")
                .table("users")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("users")
                .drop_column("user_name_lc")
                .to_owned(),
        )
        .await?;
        crate::unique_index(
            m,
            "users",
            "users_tenant_user_name",
            &["tenant_id", "user_name_key", "user_name_collision"],
        )
        .await?;
        // Only the legacy collisions (normally none, so it costs writes
        // nothing): PostgreSQL, and SQLite once analyzed, answer the admin
        // API's list and the count at start-up from it instead of from
        // every user. Queries spell the condition literally
        // (`COLLISIONS`), as SQLite needs to use a partial index.
        m.create_index(
            Index::create()
                .name("users_user_name_collisions")
                .table("users")
                .col("tenant_id")
                .col("user_name_key")
                .and_where(Expr::cust(COLLISIONS))
                .to_owned(),
        )
        .await
    }

    /// Back to `user_name_lc`; fails when two users' lowercased names
    /// are equal (written since, or legacy collisions not fixed).
    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(text_column(
                    string("user_name_lc").default("").to_owned(),
                    postgres,
                ))
                .to_owned(),
        )
        .await?;
        fill("user_name_lc", m, str::to_lowercase).await?;
        m.drop_index(
            Index::drop()
                .name("users_user_name_collisions")
                .table("users")
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("users_tenant_user_name")
                .table("users")
                .to_owned(),
        )
        .await?;
        for column in ["user_name_key", "user_name_collision"] {
            m.alter_table(Table::alter().table("users").drop_column(column).to_owned())
                .await?;
        }
        crate::unique_index(
            m,
            "users",
            "users_tenant_user_name",
            &["tenant_id", "user_name_lc"],
        )
        .await
    }
}

/// Sets `column` of every user to `derive(user_name)`, `BATCH` rows per
/// statement, walking the primary key. Logs how far it is at the start,
/// every [`PROGRESS_EVERY`] and at the end: on a large database this is
/// the long part of an upgrade.
async fn fill(
    column: &'static str,
    m: &SchemaManager<'_>,
    derive: impl Fn(&str) -> String,
) -> Result<(), DbErr> {
    let conn = m.get_connection();
    let total: i64 = conn
        .query_one(
            &Query::select()
                .expr_as(Expr::col("id").count(), "total")
                .from("users")
                .to_owned(),
        )
        .await?
        .map(|row| row.try_get("", "total"))
        .transpose()?
        .unwrap_or(0);
    let mut progress = Progress::start(column, total);
    let mut after = String::new();
    loop {
        let select = Query::select()
            .columns(["id", "user_name"])
            .from("users")
            .and_where(Expr::col("id").gt(after.as_str()))
            .order_by("id", Order::Asc)
            .limit(BATCH)
            .to_owned();
        let rows = conn.query_all(&select).await?;
        let Some(last) = rows.last() else {
            progress.finish();
            return Ok(());
        };
        after = last.try_get("", "id")?;
        // `UPDATE … FROM (VALUES …)` (SQLite 3.33+, PostgreSQL): one
        // statement per batch, joined on the primary key.
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let mut tuples = Vec::with_capacity(rows.len());
        let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 2);
        for row in &rows {
            let id: String = row.try_get("", "id")?;
            let user_name: String = row.try_get("", "user_name")?;
            tuples.push(if postgres {
                format!("(${}, ${})", values.len() + 1, values.len() + 2)
            } else {
                "(?, ?)".to_owned()
            });
            values.push(id.into());
            values.push(derive(&user_name).into());
        }
        let sql = format!(
            "UPDATE users SET {column} = v.column2 FROM (VALUES {}) AS v \
             WHERE users.id = v.column1",
            tuples.join(", ")
        );
        conn.execute_raw(Statement::from_sql_and_values(
            m.get_database_backend(),
            sql,
            values,
        ))
        .await?;
        progress.advance(rows.len());
    }
}

/// How often a long backfill reports how far it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The progress of a backfill, logged for the operator watching an
/// upgrade (`scimd migrate`, or the first `scimd serve` of a new version).
struct Progress {
    column: &'static str,
    total: i64,
    done: i64,
    started: Instant,
    reported: Instant,
}

impl Progress {
    fn start(column: &'static str, total: i64) -> Progress {
        tracing::info!(
            column,
            users = total,
            "computing {column} for every user, {BATCH} a statement; the server starts \
             once this migration is done"
        );
        let now = Instant::now();
        Progress {
            column,
            total,
            done: 0,
            started: now,
            reported: now,
        }
    }

    fn advance(&mut self, rows: usize) {
        self.done += <i64 as std::convert::TryFrom<usize>>::try_from(rows).unwrap_or(i64::MAX);
        if self.reported.elapsed() >= PROGRESS_EVERY {
            self.reported = Instant::now();
            let column = self.column;
            tracing::info!(
                "{column}: {} of {} users done ({}%)",
                self.done,
                self.total,
                self.done.saturating_mul(100) / Ord::max(self.total, 1)
            );
        }
    }

    fn finish(&self) {
        let column = self.column;
        tracing::info!(
            "{column}: {} of {} users done in {:.1} s",
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Numbers the users of each (tenant, key) shared by more than one user:
/// the oldest keeps 0, the others get 1, 2, … in order of creation. Logs
/// each group by tenant and user ids (userNames are personal data).
async fn mark_collisions(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let conn = m.get_connection();
    let groups = conn
        .query_all(
            &Query::select()
                .columns(["tenant_id", "user_name_key"])
                .from("users")
                .group_by_columns(["tenant_id", "user_name_key"])
                .and_having(Expr::col("id").count().gt(1))
                .to_owned(),
        )
        .await?;
    for group in &groups {
        let tenant_id: String = group.try_get("", "tenant_id")?;
        let key: String = group.try_get("", "user_name_key")?;
        let rows = conn
            .query_all(
                &Query::select()
                    .column("id")
                    .from("users")
                    .and_where(Expr::col("tenant_id").eq(tenant_id.as_str()))
                    .and_where(Expr::col("user_name_key").eq(key.as_str()))
                    .order_by("created_at", Order::Asc)
                    .order_by("id", Order::Asc)
                    .to_owned(),
            )
            .await?;
        let mut ids = Vec::with_capacity(rows.len());
        for (marker, row) in (0i32..).zip(&rows) {
            let id: String = row.try_get("", "id")?;
            if marker > 0 {
                conn.execute(
                    &Query::update()
                        .table("users")
                        .value("user_name_collision", marker)
                        .and_where(Expr::col("id").eq(id.as_str()))
                        .to_owned(),
                )
                .await?;
            }
            ids.push(id);
        }
        tracing::warn!(
            tenant_id,
            users = ?ids,
            "these users' userNames are now the same userName (compared by NFKC_Casefold); \
             all are kept and found by `userName eq`, but no new user may take the name: \
             rename all but one (GET /api/v1/users/name-collisions lists them)"
        );
    }
    Ok(())
}
