//! The server under test: the real `scimd` binary as a child process, so
//! its memory can be read from `/proc/<pid>/status`.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use scimd::app::Synchronous;

use crate::client::{Call, Connection};

/// A running `scimd serve`; killed when dropped.
pub struct Server {
    child: Child,
    address: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `binary serve` on a free port of 127.0.0.1 against
    /// `database_url` with SQLite's `synchronous`, its log in `log`, and
    /// waits until `/readyz` answers. Each tenant may send `rate_limit`
    /// requests a second with bursts of `rate_burst` (0: no limit, which
    /// every workload but the fairness one uses: the tool measures the
    /// server, not its limit), with at most `max_in_flight` requests of
    /// one tenant under way (0: no bound).
    pub async fn start(
        binary: &Path,
        database_url: &str,
        synchronous: Synchronous,
        log: &Path,
        rate_limit: u32,
        rate_burst: u32,
        max_in_flight: usize,
    ) -> anyhow::Result<Server> {
        let address = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let child = Command::new(binary)
            .arg("serve")
            .arg("--listen")
            .arg(address.to_string())
            .arg("--database-url")
            .arg(database_url)
            .arg("--sqlite-synchronous")
            .arg(synchronous.as_str())
            .arg("--tenant-rate-limit")
            .arg(rate_limit.to_string())
            .arg("--tenant-rate-burst")
            .arg(rate_burst.to_string())
            .arg("--tenant-max-in-flight")
            .arg(max_in_flight.to_string())
            // No metrics listener: it would need a port of its own.
            .arg("--metrics-listen")
            .arg("")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(log).with_context(|| format!("cannot create {}", log.display()))?)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Server {
            child,
            address,
            log: log.to_owned(),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited ({status}) while starting:\n{}",
                    self.log_tail()
                );
            }
            if let Ok(mut connection) = Connection::open(self.address, None).await
                && let Ok((status, _)) = connection.send(&Call::get("/readyz".into())).await
                && status.is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the server did not become ready:\n{}", self.log_tail())
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Resets the peak resident set size the kernel reports as `VmHWM`.
    pub fn reset_peak(&self) {
        // "5" resets the peak RSS (proc(5), clear_refs); best effort.
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    /// Peak resident set size since the last reset, in KiB (`VmHWM`).
    pub fn peak_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    /// Resident set size now, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// CPU time the server has used so far (user and system), in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name, which is in parentheses: state is
        // field 3, utime and stime are fields 14 and 15 (proc(5)).
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let ticks = |i: usize| fields.get(i - 3)?.parse::<f64>().ok();
        // USER_HZ is 100 on every Linux architecture scimd targets.
        Some((ticks(14)? + ticks(15)?) / 100.0)
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
