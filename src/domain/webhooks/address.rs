//! Which addresses a webhook may reach: only public ones, unless the
//! operator allows private targets (`--allow-private-webhooks`). A tenant
//! must not make scimd call into the network it runs in (SSRF).
//!
//! The check runs when an endpoint is registered and again when the
//! delivery worker connects (its DNS resolver refuses private answers), so
//! a name that later resolves elsewhere (DNS rebinding) is still refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::domain::DomainError;

/// How long registering an endpoint waits for its name to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest accepted endpoint URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// The class of an IP address, as the SSRF check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Routable on the public internet.
    Public,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// Carrier-grade NAT, `100.64.0.0/10` (RFC 6598).
    SharedNat,
    /// `169.254.0.0/16`, `fe80::/10` (and the deprecated `fec0::/10`).
    LinkLocal,
    /// Unique local IPv6, `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// RFC 5737 and RFC 3849 documentation ranges.
    Documentation,
    /// Other special-purpose ranges: `192.0.0.0/24`, benchmarking
    /// `198.18.0.0/15`, `240.0.0.0/4`, discard `100::/64`, …
    Reserved,
}

impl AddressClass {
    /// Whether a webhook may be sent to an address of this class.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// The class, for messages: "a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address (RFC 1918)",
            AddressClass::SharedNat => "a carrier-grade NAT address (100.64.0.0/10)",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::UniqueLocal => "a unique local IPv6 address (fc00::/7)",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Reserved => "a reserved special-purpose address",
        }
    }
}

/// Classifies an address; IPv4 forms inside IPv6 (mapped, compatible,
/// NAT64, 6to4) are judged by the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _, _) => AddressClass::Unspecified,
        (127, _, _) => AddressClass::Loopback,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddressClass::Private,
        (100, 64..=127, _) => AddressClass::SharedNat,
        (169, 254, _) => AddressClass::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Documentation,
        (224..=239, _, _) => AddressClass::Multicast,
        (192, 0, 0) | (198, 18..=19, _) | (240..=255, _, _) => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let segments = ip.segments();
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        classify_v4(Ipv4Addr::new(a, b, c, d))
    };
    match segments {
        [0, 0, 0, 0, 0, 0, 0, 0] => AddressClass::Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => AddressClass::Loopback,
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
        [0, 0, 0, 0, 0, 0xffff | 0, high, low] => embedded(high, low),
        // ::ffff:0:a.b.c.d, IPv4-translated (RFC 6145).
        [0, 0, 0, 0, 0xffff, 0, high, low] => embedded(high, low),
        // NAT64, 64:ff9b::a.b.c.d (RFC 6052).
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => embedded(high, low),
        // Local-use NAT64, 64:ff9b:1::/48 (RFC 8215): may reach any
        // address behind the translator.
        [0x64, 0xff9b, 1, ..] => AddressClass::Reserved,
        // Teredo, 2001::/32 (RFC 4380): tunnels to an embedded address.
        [0x2001, 0, ..] => AddressClass::Reserved,
        // 6to4, 2002:aabb:ccdd::/48 (RFC 3056).
        [0x2002, high, low, ..] => embedded(high, low),
        [0x2001, 0x0db8, ..] => AddressClass::Documentation,
        [0x0100, 0, 0, 0, ..] => AddressClass::Reserved,
        [first, ..] if first & 0xff00 == 0xff00 => AddressClass::Multicast,
        [first, ..] if first & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
        [first, ..] if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 => {
            AddressClass::LinkLocal
        }
        _ => AddressClass::Public,
    }
}

/// `Ok` for a public address; otherwise why it is refused:
/// "10.0.0.1 is a private address (RFC 1918)".
pub fn refuse_private(ip: IpAddr) -> Result<(), String> {
    let class = classify(ip);
    if class.is_public() {
        Ok(())
    } else {
        Err(format!("{ip} is {}", class.describe()))
    }
}

/// The IP address a URL names literally, if it does.
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

/// Parses an endpoint URL and, unless `allow_private`, checks that its
/// host is, or resolves only to, public addresses.
pub(crate) async fn check_url(text: &str, allow_private: bool) -> Result<Url, DomainError> {
    if text.len() > MAX_URL_BYTES {
        return Err(DomainError::invalid(format!(
            "url is {} bytes long; at most {MAX_URL_BYTES} are accepted",
            text.len()
        )));
    }
    let url = Url::parse(text)
        .map_err(|e| DomainError::invalid(format!("url is not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DomainError::invalid(format!(
            "url must use http or https, not `{}`",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DomainError::invalid(
            "url may not carry credentials; authenticate requests by their signature",
        ));
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => name.to_owned(),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) | None => String::new(),
    };
    if allow_private {
        return Ok(url);
    }
    let refused = |detail: String| {
        DomainError::invalid(format!(
            "url must reach a public address: {detail} (an operator can allow private targets with --allow-private-webhooks)"
        ))
    };
    if let Some(ip) = literal_ip(&url) {
        refuse_private(ip).map_err(refused)?;
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((host.as_str(), port));
    let addresses: Vec<_> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .map_err(|_| DomainError::invalid(format!("url's host {host} did not resolve in time")))?
        .map_err(|e| DomainError::invalid(format!("url's host {host} does not resolve: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(DomainError::invalid(format!(
            "url's host {host} resolves to no address"
        )));
    }
    for address in addresses {
        refuse_private(address.ip())
            .map_err(|detail| refused(format!("{host} resolves to {detail}")))?;
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    #[test]
    fn every_special_range_is_classified_and_public_addresses_pass() {
        let cases: &[(&str, AddressClass)] = &[
            // IPv4
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.15.255.255", Public),
            ("172.32.0.0", Public),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedNat),
            ("100.127.255.255", SharedNat),
            ("100.63.255.255", Public),
            ("100.128.0.0", Public),
            ("169.254.169.254", LinkLocal),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.200", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.0.8", Reserved),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("93.184.216.34", Public),
            // IPv6
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456:789a::1", UniqueLocal),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("100::1", Reserved),
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001:80b::200e", Public),
            // IPv4 inside IPv6
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("::192.168.0.1", Private),
            ("64:ff9b::10.0.0.1", Private),
            ("64:ff9b::8.8.8.8", Public),
            ("::ffff:0:10.0.0.1", Private),
            ("::ffff:0:127.0.0.1", Loopback),
            ("64:ff9b:1::a00:1", Reserved),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Reserved),
            ("2002:7f00:0001::1", Loopback),
            ("2002:0808:0808::1", Public),
        ];
        for (text, expected) in cases {
            let ip: IpAddr = text.parse().expect(text);
            assert_eq!(classify(ip), *expected, "{text}");
            assert_eq!(refuse_private(ip).is_ok(), *expected == Public, "{text}");
        }
    }

    #[test]
    fn a_refusal_names_the_address_and_its_class() {
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        assert_eq!(
            refuse_private(ip),
            Err("10.0.0.1 is a private address (RFC 1918)".to_owned())
        );
    }

    #[tokio::test]
    async fn urls_must_be_http_and_literal_private_hosts_are_refused() {
        let refused = [
            "ftp://example.com/hook",
            "file:///etc/passwd",
            "not a url",
            "http://127.0.0.1/hook",
            "http://10.0.0.1/",
            "http://[::1]:8080/",
            "http://[::ffff:192.168.0.1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "https://user:pass@93.184.216.34/",
        ];
        for url in refused {
            assert!(check_url(url, false).await.is_err(), "{url}");
        }
        assert!(check_url("https://93.184.216.34/hook", false).await.is_ok());
        assert!(check_url("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check_url("ftp://127.0.0.1/", true).await.is_err());
    }
}
