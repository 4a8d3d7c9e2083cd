//! The log subscriber: lines on stderr, as text for people or as JSON for
//! log pipelines (`--log-format`, DESIGN §8).
//!
//! What reaches the log is decided where events are written, not here:
//! a request's span carries its id, method, route template, path (never
//! the query string, which carries filter values) and tenant id; no event
//! carries a token, a password or a user's attributes.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is not set: scimd's own events and one line
/// per request.
const DEFAULT_FILTER: &str = "scimd=info,migrations=info,tower_http=info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colored on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the
    /// event's fields (`message` among them) at the top level, and the
    /// request's fields under `span`.
    Json,
}

/// Installs the process's subscriber, writing to stderr in `format`;
/// `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
