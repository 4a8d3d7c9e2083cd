//! `VACUUM INTO`: a consistent copy of a live SQLite database.
//!
//! Copying `scimd.db` with `cp` while scimd runs gives a stale or torn
//! file: recent commits live in `scimd.db-wal` until a checkpoint. `VACUUM
//! INTO` reads the database inside one read transaction (WAL included), so
//! the copy is the database as of one commit, while writers carry on.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    Statement, Value,
};

use super::StoreError;

/// What a finished copy holds, read back from the copy itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    /// Rows in `tenants`.
    pub tenants: u64,
    /// Rows in `users`.
    pub users: u64,
    /// The answer of `PRAGMA quick_check` on the copy: `ok` when sound.
    pub check: String,
}

/// The database file a `sqlite:` URL names; `None` for any other URL and
/// for an in-memory database.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    (!file.as_os_str().is_empty()).then(|| file.to_owned())
}

/// Copies the SQLite database at `url` into `target`, a file that must
/// not exist yet, then checks and counts the copy. The source is never
/// created or migrated.
pub async fn copy_sqlite(url: &str, target: &Path) -> Result<CopySummary, StoreError> {
    let source = open(url, None).await?;
    let copied = source
        .execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            "VACUUM INTO ?",
            [Value::from(target.to_string_lossy().into_owned())],
        ))
        .await;
    let _ = source.close().await;
    copied?;

    let copy = open(url, Some(target)).await?;
    let summary = summarize(&copy).await;
    let _ = copy.close().await;
    summary
}

/// Opens the database at `url`, never creating it; with `copy`, opens
/// that file instead, read-only.
async fn open(url: &str, copy: Option<&Path>) -> Result<DatabaseConnection, StoreError> {
    let copy = copy.map(Path::to_owned);
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            let o = match &copy {
                Some(file) => o.filename(file).read_only(true),
                None => o,
            };
            o.create_if_missing(false)
                // A writer holding the lock briefly must not fail the copy.
                .busy_timeout(Duration::from_secs(10))
        });
    Ok(Database::connect(options).await?)
}

async fn summarize(copy: &DatabaseConnection) -> Result<CopySummary, StoreError> {
    let check = one_text(copy, "PRAGMA quick_check").await?;
    let tenants = count(copy, "SELECT COUNT(*) FROM tenants").await?;
    let users = count(copy, "SELECT COUNT(*) FROM users").await?;
    Ok(CopySummary {
        tenants,
        users,
        check,
    })
}

async fn one_text(db: &DatabaseConnection, sql: &str) -> Result<String, StoreError> {
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?;
    Ok(row.try_get_by_index::<String>(0)?)
}

async fn count(db: &DatabaseConnection, sql: &str) -> Result<u64, StoreError> {
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(sql.to_owned()))?;
    let count: i64 = row.try_get_by_index(0)?;
    Ok(u64::try_from(count).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sqlite_file_url_names_a_file() {
        assert_eq!(
            sqlite_file("sqlite://scimd.db?mode=rwc"),
            Some(PathBuf::from("scimd.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/scimd/scimd.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/scimd/scimd.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://scimd@db/scimd"), None);
    }
}
