//! The real binary run the way `deploy/Dockerfile` and
//! `deploy/scimd.service` run it (images cannot be built here): as an
//! unprivileged user (`nobody`, when the suite runs as root), from a
//! read-only working directory, with only the data directory writable and
//! every setting from the environment; `scimd healthcheck` is its health
//! check. The database is SQLite in the data directory on both suites.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::USER_SCHEMA;

/// The unprivileged user the server runs as when the suite runs as root.
const USER: &str = "nobody";

/// A root file system in miniature: a read-only working directory and a
/// writable data directory owned by the user the server runs as.
struct Deployment {
    _base: TempDir,
    work: PathBuf,
    data: PathBuf,
    binary: PathBuf,
    /// Whether commands run as [`USER`] (the suite runs as root).
    unprivileged: bool,
}

fn id(args: &[&str]) -> u32 {
    let output = Command::new("id").args(args).output().expect("run id");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a numeric id")
}

impl Deployment {
    fn new() -> Deployment {
        let unprivileged = id(&["-u"]) == 0;
        if !unprivileged {
            eprintln!(
                "deploy: the suite does not run as root, so scimd runs as the current user; \
                 the part that drops to `{USER}` is skipped"
            );
        }
        let base = tempfile::tempdir().unwrap();
        std::fs::set_permissions(base.path(), PermissionsExt::from_mode(0o755)).unwrap();
        let work = base.path().join("work");
        let data = base.path().join("data");
        std::fs::create_dir(&work).unwrap();
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, PermissionsExt::from_mode(0o700)).unwrap();
        if unprivileged {
            let (uid, gid) = (id(&["-u", USER]), id(&["-g", USER]));
            std::os::unix::fs::chown(&data, Some(uid), Some(gid)).unwrap();
        }
        let mut deployment = Deployment {
            _base: base,
            work,
            data,
            binary: PathBuf::from(env!("CARGO_BIN_EXE_scimd")),
            unprivileged,
        };
        // The build may sit where `nobody` cannot reach it (under /root):
        // then a copy is run, as an image or a package would install it.
        if unprivileged && !deployment.run(&["--version"], &[]).status.success() {
            let copy = deployment._base.path().join("scimd");
            std::fs::copy(&deployment.binary, &copy).unwrap();
            std::fs::set_permissions(&copy, PermissionsExt::from_mode(0o755)).unwrap();
            deployment.binary = copy;
        }
        // Read-only from here on, as `ProtectSystem=strict` or
        // `docker run --read-only` leave the working directory.
        std::fs::set_permissions(&deployment.work, PermissionsExt::from_mode(0o555)).unwrap();
        deployment
    }

    /// `scimd ARGS`, configured by the environment only.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = if self.unprivileged {
            let mut setpriv = Command::new("setpriv");
            setpriv
                .arg(format!("--reuid={USER}"))
                .arg(format!("--regid={}", id(&["-g", USER])))
                .args(["--clear-groups", "--no-new-privs", "--"])
                .arg(&self.binary);
            setpriv
        } else {
            Command::new(&self.binary)
        };
        let database = format!("sqlite://{}?mode=rwc", self.data.join("scimd.db").display());
        command
            .args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("SCIMD_DATABASE_URL", database)
            // Servers of parallel tests would share the default metrics port.
            .env("SCIMD_METRICS_LISTEN", "")
            .env("RUST_BACKTRACE", "0")
            .envs(env.iter().copied());
        command
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run scimd")
    }

    /// `scimd serve` on a free port; returns the child and its address.
    fn serve(&self) -> (Child, String) {
        let mut child = self
            .command(&["serve"], &[("SCIMD_LISTEN", "127.0.0.1:0")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scimd serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut logged = Vec::new();
        let address = loop {
            let Some(line) = lines.next() else {
                panic!(
                    "scimd serve exited before listening:\n{}",
                    logged.join("\n")
                );
            };
            let line = line.unwrap();
            if line.contains("scimd is listening") {
                break line
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("address="))
                    .expect("the listening line names the address")
                    .to_owned();
            }
            logged.push(line);
        };
        std::thread::spawn(move || lines.for_each(drop));
        (child, address)
    }
}

/// The real user id of a running process.
fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .expect("a Uid line")
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn scimd_runs_unprivileged_from_a_read_only_directory_and_its_healthcheck_tells_up_from_down()
{
    let deployment = Deployment::new();
    let (mut server, address) = deployment.serve();
    if deployment.unprivileged {
        assert_eq!(
            uid_of(server.id()),
            id(&["-u", USER]),
            "serve runs as {USER}"
        );
    }

    let healthy = deployment.run(&["healthcheck"], &[("SCIMD_LISTEN", &address)]);
    assert!(
        healthy.status.success(),
        "healthcheck against {address}: {}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    let down = format!("http://127.0.0.1:{}/healthz", closed_port());
    let unhealthy = deployment.run(&["healthcheck", "--url", &down], &[]);
    assert!(!unhealthy.status.success());
    assert!(String::from_utf8_lossy(&unhealthy.stderr).contains(&down));

    // The data directory takes writes: a tenant made by the command line
    // (run the same way), then a user through the server.
    let created = deployment.run(&["tenant", "create", "acme", "--json"], &[]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let response = reqwest::Client::new()
        .request(Method::POST, format!("http://{address}/scim/v2/Users"))
        .bearer_auth(created["scim_token"].as_str().unwrap())
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [USER_SCHEMA], "userName": "ann@example.com"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);

    let stop = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    assert!(server.wait().unwrap().success(), "a clean exit on SIGTERM");
    assert!(
        entries(&deployment.work).is_empty(),
        "nothing written to the working directory"
    );
    assert!(entries(&deployment.data).contains(&"scimd.db".to_owned()));
}
