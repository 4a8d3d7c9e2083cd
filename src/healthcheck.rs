//! `scimd healthcheck`: exit 0 when `GET /healthz` answers 200, for
//! container health checks in images without curl (README, "Deploying").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};

/// How long the whole check may take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// `scimd healthcheck`.
#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// URL to check; defaults to `/healthz` on the address `serve` listens
    /// on (`--listen`).
    #[arg(long)]
    pub url: Option<String>,
    /// The address `scimd serve` listens on; an unspecified address
    /// (`0.0.0.0`, `[::]`) is checked on loopback.
    #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// Runs the check: `Ok` when the server answered 200 within [`TIMEOUT`].
pub async fn run(args: &HealthcheckArgs) -> anyhow::Result<()> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => healthz_url(&args.listen),
    };
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered {status}");
    }
    println!("{url}: {status}");
    Ok(())
}

/// `http://ADDRESS/healthz` for a listen address, on loopback when the
/// address is unspecified.
fn healthz_url(listen: &str) -> String {
    let host = match listen.parse::<SocketAddr>() {
        Ok(address) if address.ip().is_unspecified() => {
            let loopback = match address.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(loopback, address.port()).to_string()
        }
        Ok(address) => address.to_string(),
        Err(_) => listen.to_owned(),
    };
    format!("http://{host}/healthz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_url_is_healthz_on_the_listen_address_reachable_locally() {
        assert_eq!(
            healthz_url("127.0.0.1:8080"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(healthz_url("0.0.0.0:9000"), "http://127.0.0.1:9000/healthz");
        assert_eq!(healthz_url("[::]:8080"), "http://[::1]:8080/healthz");
        assert_eq!(healthz_url("[::1]:8080"), "http://[::1]:8080/healthz");
        assert_eq!(
            healthz_url("localhost:8080"),
            "http://localhost:8080/healthz"
        );
    }
}
