//! `scimd backup FILE`: a consistent online copy of an SQLite database,
//! taken while scimd serves (README, "Backups").
//!
//! The copy is written beside FILE under a temporary name, checked
//! (`PRAGMA quick_check`), synced to disk, and only then given its name,
//! so FILE is either absent or a whole, checked backup; an existing FILE is
//! never replaced.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::app::redact;
use crate::store::{CopySummary, copy_sqlite, sqlite_file};

/// `scimd backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy; must not exist yet.
    pub file: PathBuf,
}

/// A backup that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Absolute path of the copy.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// What it holds.
    pub summary: CopySummary,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backup written: {} ({} bytes; {} tenants, {} users; integrity {})",
            self.path.display(),
            self.bytes,
            self.summary.tenants,
            self.summary.users,
            self.summary.check
        )
    }
}

/// Runs `scimd backup` and prints what it wrote.
pub async fn run(database_url: &str, args: &BackupArgs) -> anyhow::Result<()> {
    let written = backup(database_url, &args.file).await?;
    println!("{written}");
    Ok(())
}

/// Copies the SQLite database at `database_url` to `file`.
pub async fn backup(database_url: &str, file: &Path) -> anyhow::Result<Written> {
    if database_url.starts_with("postgres") {
        bail!(
            "scimd backup copies SQLite databases; back up PostgreSQL with pg_dump, e.g. \
             `pg_dump --format=custom --file=scimd.dump '{}'`, and restore with pg_restore \
             (README, \"Backups\")",
            redact(database_url)
        );
    }
    let Some(source) = sqlite_file(database_url) else {
        bail!(
            "{} is not an SQLite database file; only those can be backed up",
            redact(database_url)
        );
    };
    if !source.is_file() {
        bail!("there is no SQLite database at {}", source.display());
    }
    let path = std::path::absolute(file)
        .with_context(|| format!("{} is not a usable path", file.display()))?;
    refuse_existing(&path)?;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        bail!("{} is not a file name", path.display());
    };
    if !dir.is_dir() {
        bail!("the directory {} does not exist", dir.display());
    }
    let partial = Partial(dir.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    )));
    let summary = copy_sqlite(database_url, &partial.0)
        .await
        .with_context(|| format!("cannot copy {} to {}", source.display(), path.display()))?;
    if summary.check != "ok" {
        bail!(
            "the copy failed its integrity check ({}); nothing was written to {}",
            summary.check,
            path.display()
        );
    }
    // SQLite does not sync the file VACUUM INTO writes.
    File::open(&partial.0)
        .and_then(|copy| copy.sync_all())
        .context("cannot sync the copy to disk")?;
    publish(&partial.0, &path)?;
    // The new name is durable once the directory is synced.
    let _ = File::open(dir).and_then(|dir| dir.sync_all());
    let bytes = std::fs::metadata(&path)?.len();
    Ok(Written {
        path,
        bytes,
        summary,
    })
}

fn refuse_existing(path: &Path) -> anyhow::Result<()> {
    if path.symlink_metadata().is_ok() {
        bail!(
            "{} already exists; scimd backup never overwrites a file: choose a new name",
            path.display()
        );
    }
    Ok(())
}

/// Gives the finished copy its name without ever replacing a file: a hard
/// link fails if the name was taken meanwhile. Where hard links are not
/// supported, renames after one more check.
fn publish(partial: &Path, path: &Path) -> anyhow::Result<()> {
    match std::fs::hard_link(partial, path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => bail!(
            "{} was created while the backup ran; scimd backup never overwrites a file",
            path.display()
        ),
        Err(_) => {
            refuse_existing(path)?;
            std::fs::rename(partial, path)
                .with_context(|| format!("cannot write {}", path.display()))
        }
    }
}

/// The copy under its temporary name, removed when dropped (whether or not
/// it was published under its final name).
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
