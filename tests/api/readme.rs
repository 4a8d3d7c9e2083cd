//! README's shell examples run as shown.
//!
//! The rule: every ```` ```sh ```` block of README.md is run, in the
//! README's order, as one bash script (`set -euo pipefail`, so exports
//! carry from block to block), in a fresh temporary directory, except a
//! block whose line before the fence is `<!-- not run: REASON -->`, with
//! a reason. A block that runs may not hold a `…` placeholder. What the
//! script gets that a reader does not:
//!
//! - the `scimd` under test first on `PATH`, and a `cargo` function that
//!   takes only `cargo build --release` (done already: the binary is
//!   built) and `cargo run --release -- ARGS` (runs `scimd ARGS`);
//! - a free port instead of `127.0.0.1:8080`, both in the text of the
//!   blocks and as `SCIMD_LISTEN`, since tests run side by side;
//! - no `SCIMD_*` variable of the test's own environment, and servers the
//!   blocks left running stopped at the end.
//!
//! `curl` and `jq` must be installed; the examples use SQLite files in the
//! temporary directory whatever database the rest of the suite uses. The
//! answers the examples print are not compared: the rest of the suite
//! checks behaviour, this test checks that the commands work as written.

use std::process::Command;

/// A fenced `sh` block of the README.
#[derive(Debug)]
struct Block {
    /// Line of the opening fence, from 1.
    line: usize,
    text: String,
    /// Why it is not run, if it is not.
    not_run: Option<String>,
}

fn sh_blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        if lines[at].trim_end() != "```sh" {
            at += 1;
            continue;
        }
        let not_run = at
            .checked_sub(1)
            .and_then(|before| lines[before].trim().strip_prefix("<!-- not run:"))
            .map(|rest| rest.trim_end_matches("-->").trim().to_owned());
        let start = at;
        let mut text = String::new();
        at += 1;
        while at < lines.len() && lines[at].trim_end() != "```" {
            text.push_str(lines[at]);
            text.push('\n');
            at += 1;
        }
        assert!(
            at < lines.len(),
            "the block at line {} is not closed",
            start + 1
        );
        blocks.push(Block {
            line: start + 1,
            text,
            not_run,
        });
        at += 1;
    }
    blocks
}

const PRELUDE: &str = r#"set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
cargo() {
  case "$*" in
    "build --release") ;;
    "run --release -- "*) shift 3; scimd "$@" ;;
    *) echo "the README test does not run \`cargo $*\`" >&2; return 1 ;;
  esac
}
"#;

#[test]
fn every_shell_example_in_the_readme_runs_as_shown() {
    for tool in ["curl", "jq", "bash"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "the README examples need `{tool}`; install it"
        );
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let blocks = sh_blocks(&readme);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");

    let mut script = String::from(PRELUDE);
    let mut run = 0;
    for block in &blocks {
        match &block.not_run {
            Some(reason) => assert!(
                !reason.is_empty(),
                "the block at line {} is not run without saying why",
                block.line
            ),
            None => {
                assert!(
                    !block.text.contains('…'),
                    "the block at line {} has a … placeholder: fill it in or mark it \
                     `<!-- not run: why -->`",
                    block.line
                );
                script.push_str(&format!("echo '== README.md line {}' >&2\n", block.line));
                script.push_str(&block.text.replace("127.0.0.1:8080", &address));
                run += 1;
            }
        }
    }
    assert!(run >= 5, "only {run} README blocks run");

    let scimd = std::path::Path::new(env!("CARGO_BIN_EXE_scimd"));
    let bin = scimd.parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new("timeout");
    command
        .args(["300", "bash", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("SCIMD_LISTEN", &address)
        .env("RUST_LOG", "warn");
    for (variable, _) in std::env::vars() {
        if variable.starts_with("SCIMD_") && variable != "SCIMD_LISTEN" {
            command.env_remove(variable);
        }
    }
    // The examples' servers and other tests' would share the default
    // metrics port.
    command.env("SCIMD_METRICS_LISTEN", "");
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "the README's examples failed ({}):\n--- stderr\n{}\n--- stdout\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn blocks_and_their_not_run_reasons_are_found() {
    let readme = "text\n<!-- not run: needs Okta -->\n```sh\nokta login\n```\n\n```sh\nscimd migrate\n```\n```json\n{}\n```\n";
    let blocks = sh_blocks(readme);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].not_run.as_deref(), Some("needs Okta"));
    assert_eq!(blocks[0].text, "okta login\n");
    assert_eq!(blocks[1].not_run, None);
    assert_eq!(blocks[1].line, 7);
}
