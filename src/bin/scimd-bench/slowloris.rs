//! Hostile sockets held open during the workloads (issue 13's figures):
//! half-header sockets (slowloris), each sending half a request head and
//! waiting until the server closes it (its header timeout); and stalled
//! readers, each asking for a page of 1,000 users and reading only its
//! first bytes. A half-header holder opens another socket once the
//! server closes its own, so that about N are open all the time.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Half a request head: the line and one header, never the blank line.
const HALF_HEAD: &[u8] = b"GET /scim/v2/Users HTTP/1.1\r\nHost: scimd\r\nAccept: */";

/// The holders; dropping this stops them and closes their sockets.
pub struct HalfHeaders {
    _holders: JoinSet<()>,
}

/// Starts `count` holders against `address`, after raising this
/// process's open-file limit to fit them.
pub fn hold(address: SocketAddr, count: usize) -> anyhow::Result<HalfHeaders> {
    let wanted = count as u64 + 1024;
    let files = rlimit::increase_nofile_limit(wanted)?;
    if files < wanted {
        anyhow::bail!(
            "holding {count} sockets needs an open-file limit of {wanted}; the hard limit is {files}"
        );
    }
    let mut holders = JoinSet::new();
    for _ in 0..count {
        holders.spawn(hold_one(address));
    }
    Ok(HalfHeaders { _holders: holders })
}

/// Starts `count` stalled readers (each opens one socket and holds it) of `GET /scim/v2/Users?count=1000`
/// with `token`.
pub fn stall(address: SocketAddr, token: &str, count: usize) -> anyhow::Result<HalfHeaders> {
    let wanted = count as u64 + 1024;
    rlimit::increase_nofile_limit(wanted)?;
    let request = format!(
        "GET /scim/v2/Users?count=1000 HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    let mut holders = JoinSet::new();
    for _ in 0..count {
        holders.spawn(stall_one(address, request.clone()));
    }
    Ok(HalfHeaders { _holders: holders })
}

async fn stall_one(address: SocketAddr, request: String) {
    let mut first = [0u8; 12];
    loop {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if stream.write_all(request.as_bytes()).await.is_ok()
            && stream.read_exact(&mut first).await.is_ok()
        {
            // Read nothing more, for as long as the run lasts.
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        }
    }
}

async fn hold_one(address: SocketAddr) {
    let mut buf = [0u8; 1024];
    loop {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if stream.write_all(HALF_HEAD).await.is_ok() {
            // Until the server closes it (or answers something).
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        }
    }
}
