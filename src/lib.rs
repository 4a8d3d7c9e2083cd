//! scimd: a SCIM 2.0 provisioning server with safe deprovisioning.
//!
//! # Layout
//!
//! Dependencies point down only (DESIGN.md §1); `layering_is_respected`
//! below fails the build when a layer reaches up.
//!
//! | module   | job | may use |
//! |----------|-----|---------|
//! | [`http`]   | axum routers (SCIM and the admin API), authentication, body limits, the SCIM media type, error → response | everything below |
//! | [`domain`] | tenants, tokens, users, groups, assets, call records, audit, the deprovisioning guard: the business rules | `scim`, `store`, `clock` |
//! | [`store`]  | sea-orm entities, queries, filter push-down to SQL | `scim`, `clock` |
//! | [`scim`]   | schemas, validation, filter parser, list types, discovery, `ScimError` | nothing of ours |
//! | [`clock`]  | the one reader of the wall clock | nothing of ours |
//! | [`app`]    | the composition root: config → store → domain → router | everything |
//! | [`cli`]    | the command line | `app`, `domain` |

pub mod app;
pub mod cli;
pub mod clock;
pub mod domain;
pub mod http;
pub mod scim;
pub mod store;

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

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
                for module in forbidden {
                    let needle = format!("crate::{module}");
                    assert!(
                        !source.contains(&needle),
                        "{} uses {needle}, which its layer may not depend on",
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
    fn layering_is_respected() {
        check("scim", &["http", "domain", "store", "app", "cli", "clock"]);
        check("store", &["http", "domain", "app", "cli"]);
        check("domain", &["http", "app", "cli"]);
        check("http", &["app", "cli"]);
    }
}
