//! Keeping secrets out of sight: database URLs redacted before they are
//! printed or logged, secrets read from files (`SCIMD_DATABASE_URL_FILE`),
//! and the first start's tokens written to a file only its owner can read.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What replaces a password in a redacted URL.
const HIDDEN: &str = "***";

/// Query parameters of a database URL that carry a secret (sqlx reads
/// `password`; libpq-style URLs may carry the others).
const SECRET_PARAMETERS: [&str; 3] = ["password", "sslpassword", "passfile"];

/// A database URL fit for messages: the userinfo password and any
/// `password=` query parameter replaced by `***`. Text that is not a URL
/// is kept only up to its scheme, since it may be a mistyped secret.
pub fn redact_database_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return match text.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://{HIDDEN} (not a valid URL)"),
            None => format!("{HIDDEN} (not a valid URL)"),
        };
    };
    if url.password().is_some() {
        // Fails only for URLs that cannot have a password at all.
        let _ = url.set_password(Some(HIDDEN));
    }
    let is_secret = |key: &str| {
        SECRET_PARAMETERS
            .iter()
            .any(|name| key.eq_ignore_ascii_case(name))
    };
    if url.query_pairs().any(|(key, _)| is_secret(&key)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret(&key) {
                    HIDDEN.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // `url` escapes the `*`s of a password; put them back for readers.
    url.to_string().replace("%2A%2A%2A", HIDDEN)
}

/// Why a secret could not be read from its file.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read {variable} from {path}: {source}")]
    Unreadable {
        variable: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} (from {variable}) is empty")]
    Empty {
        variable: &'static str,
        path: PathBuf,
    },
}

/// Reads a secret from `path`: the whole file without its trailing line
/// break (as editors and `echo` leave one). `variable` names the setting
/// in errors.
pub fn read_secret_file(variable: &'static str, path: &Path) -> Result<String, SecretFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretFileError::Unreadable {
        variable,
        path: path.to_owned(),
        source,
    })?;
    let secret = text.strip_suffix('\n').unwrap_or(&text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() {
        return Err(SecretFileError::Empty {
            variable,
            path: path.to_owned(),
        });
    }
    Ok(secret.to_owned())
}

/// Creates `path` for secrets: it must not exist yet (nothing is ever
/// overwritten), and on Unix only its owner may read it (mode 0600).
pub fn create_secret_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `contents` and a line break to `file`, and syncs it.
pub fn write_secret_file(mut file: File, contents: &str) -> std::io::Result<()> {
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_never_reach_messages() {
        let cases = [
            ("postgres://u:S3cret@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h:5433/db", "postgres://u@h:5433/db"),
            (
                "postgres://u@h/db?password=S3cret&sslmode=require",
                "postgres://u@h/db?password=***&sslmode=require",
            ),
            (
                "postgres://u:S3cret@h/db?PassWord=S3cret",
                "postgres://u:***@h/db?PassWord=***",
            ),
            ("sqlite://scimd.db?mode=rwc", "sqlite://scimd.db?mode=rwc"),
            (
                "postgres://u:S3cret@h:not-a-port/db",
                "postgres://*** (not a valid URL)",
            ),
            ("S3cret", "*** (not a valid URL)"),
        ];
        for (url, redacted) in cases {
            assert_eq!(redact_database_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn a_secret_file_loses_its_trailing_line_break_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("url");
        std::fs::write(&path, "postgres://u:pw@h/db\n").unwrap();
        assert_eq!(
            read_secret_file("X", &path).unwrap(),
            "postgres://u:pw@h/db"
        );
        std::fs::write(&path, " spaced \r\n").unwrap();
        assert_eq!(read_secret_file("X", &path).unwrap(), " spaced ");
        std::fs::write(&path, "\n").unwrap();
        assert!(
            read_secret_file("X", &path)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let missing = read_secret_file("SCIMD_DATABASE_URL_FILE", &dir.path().join("none"));
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("SCIMD_DATABASE_URL_FILE")
        );
    }

    #[test]
    fn secret_files_are_new_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        write_secret_file(create_secret_file(&path).unwrap(), "{}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = create_secret_file(&path).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    }
}
