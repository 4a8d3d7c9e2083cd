//! The optional configuration file (`--config FILE`, `SCIMD_CONFIG`).
//!
//! A flat TOML table whose keys are the long flag names without `--`, and
//! whose values are what the flag would take:
//!
//! ```toml
//! database-url-file = "/run/secrets/scimd-database-url"
//! listen = "0.0.0.0:8080"
//! public-url = "https://scim.example.com"
//! tenant-rate-limit = 100
//! allow-private-webhooks = true
//! ```
//!
//! Each value becomes the default of its flag wherever the flag exists
//! (the global flags, `serve`'s, any subcommand's), so that the command
//! line and the environment override the file, as clap already orders a
//! flag over its variable over its default. A key no command knows is an
//! error, so a misspelt setting never goes unnoticed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Command;
use toml_edit::{Document, Item, Value};

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SCIMD_CONFIG";
/// The flag naming the configuration file.
pub const CONFIG_FLAG: &str = "config";

/// Flags a file may not set: the file's own, and clap's.
const NOT_SETTABLE: [&str; 3] = [CONFIG_FLAG, "help", "version"];

/// Why a configuration file is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read the configuration file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The position and the parser's message, never the line itself (it
    /// may hold a password).
    #[error(
        "the configuration file {path} is not TOML: at line {line}, column {column}: {message}"
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "the configuration file {path} sets `{key}`, which is not a flag of scimd \
         (keys are flag names without `--`, e.g. `listen`, `database-url`)"
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error(
        "the configuration file {path} sets `{key}` to a {kind}; \
         give a string, a number or true/false"
    )]
    Unsupported {
        path: PathBuf,
        key: String,
        kind: &'static str,
    },
}

/// The settings of a configuration file, in the file's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    path: PathBuf,
    settings: Vec<(String, String)>,
}

impl ConfigFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        ConfigFile::parse(path, &text)
    }

    /// Parses `text`, read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigFileError> {
        let document = Document::parse(text).map_err(|error| {
            let (line, column) = position(text, error.span().map_or(0, |span| span.start));
            ConfigFileError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: error.message().trim().to_owned(),
            }
        })?;
        let mut settings = Vec::new();
        for (key, item) in document.as_table().iter() {
            let unsupported = |kind| ConfigFileError::Unsupported {
                path: path.to_owned(),
                key: key.to_owned(),
                kind,
            };
            let value = match item {
                Item::Value(Value::String(text)) => text.value().to_owned(),
                Item::Value(Value::Integer(number)) => number.value().to_string(),
                Item::Value(Value::Float(number)) => number.value().to_string(),
                Item::Value(Value::Boolean(flag)) => flag.value().to_string(),
                Item::Value(Value::Datetime(_)) => return Err(unsupported("date-time")),
                Item::Value(Value::Array(_)) | Item::ArrayOfTables(_) => {
                    return Err(unsupported("list"));
                }
                Item::Value(Value::InlineTable(_)) | Item::Table(_) => {
                    return Err(unsupported("table"));
                }
                Item::None => continue,
            };
            settings.push((key.to_owned(), value));
        }
        Ok(ConfigFile {
            path: path.to_owned(),
            settings,
        })
    }

    /// The keys the file sets.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.settings.iter().map(|(key, _)| key.as_str())
    }

    /// `command` with the file's values as the defaults of their flags,
    /// in it and every subcommand. A secret flag (one whose environment
    /// value `--help` hides) gets its default hidden too.
    pub fn apply(&self, mut command: Command) -> Result<Command, ConfigFileError> {
        for (key, _) in &self.settings {
            if NOT_SETTABLE.contains(&key.as_str()) || !knows(&command, key) {
                return Err(ConfigFileError::UnknownKey {
                    path: self.path.clone(),
                    key: key.clone(),
                });
            }
        }
        for (key, value) in &self.settings {
            command = set_default(command, key, value);
        }
        Ok(command)
    }
}

/// Whether `command` or any of its subcommands has the flag `--key`.
fn knows(command: &Command, key: &str) -> bool {
    command
        .get_arguments()
        .any(|arg| arg.get_long() == Some(key))
        || command.get_subcommands().any(|sub| knows(sub, key))
}

/// Sets the default of `--key` to `value` in `command` and every
/// subcommand that has it.
fn set_default(mut command: Command, key: &str, value: &str) -> Command {
    let id = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(key))
        .map(|arg| arg.get_id().clone());
    if let Some(id) = id {
        let value = value.to_owned();
        command = command.mut_arg(id, |arg| {
            let secret = arg.is_hide_env_values_set();
            arg.default_value(value).hide_default_value(secret)
        });
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| set_default(sub, key, value));
    }
    command
}

/// The configuration file named by `--config FILE` (or `--config=FILE`)
/// in `args`, else by `environment` (the value of [`CONFIG_ENV`]); read
/// before the command line is parsed, since it changes the parser.
pub fn path_in(args: &[OsString], environment: Option<OsString>) -> Option<PathBuf> {
    let flag = format!("--{CONFIG_FLAG}");
    let with_value = format!("--{CONFIG_FLAG}=");
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        let Some(text) = word.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == flag {
            return words.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix(&with_value) {
            return Some(PathBuf::from(path));
        }
    }
    environment
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

/// Line and column (from 1) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(1, |last| last.chars().count() + 1);
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn command() -> Command {
        Command::new("scimd")
            .arg(
                Arg::new("database_url")
                    .long("database-url")
                    .env("TEST_CONFIG_FILE_DATABASE_URL")
                    .hide_env_values(true)
                    .global(true)
                    .default_value("sqlite://scimd.db"),
            )
            .arg(Arg::new(CONFIG_FLAG).long(CONFIG_FLAG).global(true))
            .subcommand(
                Command::new("serve")
                    .arg(
                        Arg::new("listen")
                            .long("listen")
                            .default_value("127.0.0.1:8080"),
                    )
                    .arg(
                        Arg::new("private")
                            .long("allow-private-webhooks")
                            .action(ArgAction::SetTrue),
                    ),
            )
            .subcommand(Command::new("migrate"))
    }

    fn file(text: &str) -> Result<ConfigFile, ConfigFileError> {
        ConfigFile::parse(Path::new("scimd.toml"), text)
    }

    #[test]
    fn the_file_sets_defaults_that_flags_override() {
        let config = file(
            "# scimd\nlisten = \"0.0.0.0:9000\"\nallow-private-webhooks = true\n\
             database-url = \"postgres://u:pw@db/scimd\"\n",
        )
        .unwrap();
        let command = config.apply(command()).unwrap();
        let matches = command
            .clone()
            .try_get_matches_from(["scimd", "serve"])
            .unwrap();
        let (_, serve) = matches.subcommand().unwrap();
        assert_eq!(serve.get_one::<String>("listen").unwrap(), "0.0.0.0:9000");
        assert!(serve.get_flag("private"));
        assert_eq!(
            serve.get_one::<String>("database_url").unwrap(),
            "postgres://u:pw@db/scimd"
        );
        let matches = command
            .clone()
            .try_get_matches_from(["scimd", "serve", "--listen", "127.0.0.1:1"])
            .unwrap();
        let (_, serve) = matches.subcommand().unwrap();
        assert_eq!(serve.get_one::<String>("listen").unwrap(), "127.0.0.1:1");
        // The secret default is not shown by --help.
        let help = command
            .try_get_matches_from(["scimd", "serve", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("0.0.0.0:9000"), "{help}");
        assert!(!help.contains("pw@db"), "{help}");
    }

    #[test]
    fn unknown_keys_and_values_that_are_no_flag_value_are_refused() {
        let unknown = file("lisen = \"0.0.0.0:9000\"\n").unwrap().apply(command());
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("`lisen`, which is not a flag")
        );
        let own = file("config = \"other.toml\"\n").unwrap().apply(command());
        assert!(own.is_err());
        assert!(
            file("[serve]\nlisten = \"x\"\n")
                .unwrap_err()
                .to_string()
                .contains("table")
        );
        assert!(
            file("listen = [1, 2]\n")
                .unwrap_err()
                .to_string()
                .contains("list")
        );
    }

    #[test]
    fn syntax_errors_give_the_position_and_never_the_line() {
        let error = file("listen = \"a\"\ndatabase-url = \"postgres://u:S3cret@h/db\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2"), "{error}");
        assert!(!error.contains("S3cret"), "{error}");
    }

    #[test]
    fn the_file_is_found_on_the_command_line_or_in_the_environment() {
        let args = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            path_in(&args(&["scimd", "serve", "--config", "a.toml"]), None),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            path_in(
                &args(&["scimd", "--config=b.toml", "migrate"]),
                Some("c.toml".into())
            ),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(
            path_in(&args(&["scimd", "migrate"]), Some("c.toml".into())),
            Some(PathBuf::from("c.toml"))
        );
        assert_eq!(path_in(&args(&["scimd", "migrate"]), Some("".into())), None);
        assert_eq!(
            path_in(&args(&["scimd", "--", "--config", "x"]), None),
            None
        );
    }
}
