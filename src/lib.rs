//! scimd: a SCIM 2.0 provisioning server with safe deprovisioning.
//!
//! # Layout
//!
//! Dependencies point down only (DESIGN.md §1). The SCIM protocol is its
//! own workspace crate, [`scim`] (`scim/`), which depends on nothing of
//! ours, so the compiler keeps it free of HTTP and storage; inside this
//! crate `layering_is_respected` below fails the build when a layer
//! reaches up. `http` and `store` are private to the crate, and inside
//! every layer items default to `pub(crate)`, so dead code is reported.
//!
//! | module   | job | may use |
//! |----------|-----|---------|
//! | [`http`]   | axum routers (SCIM, the admin API and the console), authentication, body limits, the SCIM media type, error → response | everything below |
//! | [`domain`] | tenants, tokens, users, groups, assets, call records, audit, the deprovisioning guard: the business rules | `scim`, `store`, `clock`, `metrics` |
//! | [`delivery`] | the webhook worker: claims due deliveries, signs and sends them over an SSRF-checked client, records attempts | `domain`, `clock`, `metrics` |
//! | [`store`]  | sea-orm entities, queries, filter push-down to SQL | `scim`, `clock` |
//! | `scim` (crate) | schemas, validation, filter parser, PATCH engine, list types, discovery, `ScimError` | nothing of ours |
//! | [`clock`]  | the one reader of the wall clock | nothing of ours |
//! | [`metrics`] | the process's Prometheus metrics: counters, histograms, gauges, their text encoding | nothing of ours |
//! | [`logging`] | the log subscriber: text or JSON lines on stderr | nothing of ours |
//! | [`app`]    | the composition root: config → store → domain → router | everything |
//! | [`cli`]    | the command line | `app`, `domain`, `backup`, `healthcheck`, `config_file`, `secrets` |
//! | [`backup`] | `scimd backup`: an online copy of an SQLite database | `store`, `app` |
//! | [`healthcheck`] | `scimd healthcheck`: exit status from `/healthz` | nothing of ours |
//! | [`config_file`] | the optional TOML file of `--config`, turned into the command line's defaults | nothing of ours |
//! | [`secrets`] | redacted database URLs, secrets read from files, the first start's token file | nothing of ours |

pub mod app;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config_file;
pub mod delivery;
pub mod domain;
pub mod healthcheck;
pub(crate) mod http;
pub mod logging;
pub mod metrics;
pub mod secrets;
pub(crate) mod store;

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    /// The crate modules a source file names through `crate::`, including
    /// every first segment of a grouped import (`use crate::{http, store::Tx}`).
    fn crate_modules(source: &str) -> Vec<String> {
        let compact: String = source.split_whitespace().collect();
        let mut found = Vec::new();
        for (at, _) in compact.match_indices("crate::") {
            let rest = &compact[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0usize;
                let mut item = String::new();
                let mut items = Vec::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                        _ if depth == 0 => item.push(c),
                        _ => {}
                    }
                }
                items.push(item);
                found.extend(
                    items
                        .iter()
                        .map(|i| first_segment(i))
                        .filter(|m| !m.is_empty()),
                );
            } else {
                found.push(first_segment(rest));
            }
        }
        found
    }

    fn first_segment(path: &str) -> String {
        path.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    }

    /// A one-file module `src/<file>` and the crate modules it must not use.
    fn check_file(file: &str, forbidden: &[&str]) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file);
        let source = fs::read_to_string(&path).expect("read file");
        for module in crate_modules(&source) {
            assert!(
                !forbidden.contains(&module.as_str()),
                "{} uses crate::{module}, which it may not depend on",
                path.display()
            );
        }
        assert!(!source.contains("axum"), "{} uses axum", path.display());
    }

    /// Every `.rs` file under `src/<layer>` and the crate modules it must not use.
    fn check(layer: &str, forbidden: &[&str]) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(layer);
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).expect("read src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let source = fs::read_to_string(&path).expect("read file");
                for module in crate_modules(&source) {
                    assert!(
                        !forbidden.contains(&module.as_str()),
                        "{} uses crate::{module}, which its layer may not depend on",
                        path.display()
                    );
                }
                if layer != "http" {
                    assert!(
                        !source.contains("axum"),
                        "{} uses axum outside the http layer",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn grouped_and_nested_imports_name_every_module() {
        let source = "use crate::{\n    http::{self, error},\n    store::Tx,\n};\nlet x = crate::app::run();";
        assert_eq!(crate_modules(source), ["http", "store", "app"]);
    }

    #[test]
    fn layering_is_respected() {
        // `scim` is its own crate with no dependency on this one: the
        // compiler enforces its layer.
        check("store", &["http", "domain", "metrics", "app", "cli"]);
        check("domain", &["http", "app", "cli"]);
        check("http", &["app", "cli"]);
        check("delivery", &["http", "store", "app", "cli"]);
        let everything = ["http", "domain", "store", "delivery", "app", "cli"];
        check_file("metrics.rs", &everything);
        check_file("logging.rs", &everything);
    }
}
