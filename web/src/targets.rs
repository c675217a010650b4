//! Which network addresses a webhook may reach: the one classification both the delivery
//! transport (at send time, on the address actually connected to) and the API (when an
//! endpoint is saved, for a clear 422 on `/url`) use.
//!
//! Unless `[webhooks] allow_private_targets` is set, a target that is, or resolves to, an
//! address of this host or of a private network is refused: loopback, private, link-local
//! (cloud metadata lives there), shared (carrier-grade NAT), unspecified, multicast and
//! broadcast, reserved and special-purpose ranges, and the IPv6 forms that embed or reach an
//! IPv4 address (IPv4-mapped and IPv4-compatible, NAT64, 6to4, Teredo).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Why a webhook may not reach `ip`, if it may not.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = v4.octets();
    if v4.is_loopback() {
        Some("a loopback address")
    } else if v4.is_private() {
        Some("a private address")
    } else if v4.is_link_local() {
        Some("a link-local address (cloud metadata lives there)")
    } else if v4.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if v4.is_multicast() || v4.is_broadcast() {
        Some("a multicast or broadcast address")
    } else if a >= 240 {
        Some("a reserved address (240.0.0.0/4)")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("a benchmarking address (198.18.0.0/15)")
    } else if a == 192 && b == 0 && c == 0 {
        Some("an IETF protocol address (192.0.0.0/24)")
    } else if (a, b, c) == (192, 0, 2) || (a, b, c) == (198, 51, 100) || (a, b, c) == (203, 0, 113) {
        Some("a documentation address")
    } else {
        None
    }
}

fn forbidden_v6(v6: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = v6.segments();
    let first = segments[0];
    if v6.is_loopback() {
        Some("a loopback address")
    } else if v6.is_unspecified() {
        Some("an unspecified address")
    } else if segments[..6] == [0; 6] {
        Some("an IPv4-compatible address (::a.b.c.d)")
    } else if segments[..2] == [0x64, 0xff9b] {
        Some("a NAT64 address (it reaches any IPv4 address)")
    } else if first == 0x2002 {
        Some("a 6to4 address (it reaches any IPv4 address)")
    } else if segments[..2] == [0x2001, 0] {
        Some("a Teredo address (it reaches any IPv4 address)")
    } else if segments[..2] == [0x2001, 0x0db8] {
        Some("a documentation address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xffc0 == 0xfec0 {
        Some("a site-local address")
    } else if v6.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// The refusal text for `ip`, with how to allow it.
pub fn refusal(ip: IpAddr, reason: &str) -> String {
    format!("refused: {ip} is {reason} (set `allow_private_targets = true` under [webhooks] to allow it)")
}

/// How long saving an endpoint waits for its host name to resolve before accepting it (the
/// send-time check still applies to whatever it resolves to later).
const SAVE_RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The check made when an endpoint is saved: `Err` with the reason when `url` is an http(s)
/// URL whose host is, or now resolves to, a forbidden address. Anything else (a URL that does
/// not parse, a name that does not resolve) is left to the endpoint's own validation and to
/// the check at send time.
pub async fn check_saved_url(url: &str) -> Result<(), String> {
    let Ok(parsed) = reqwest::Url::parse(url) else { return Ok(()) };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Ok(());
    }
    let Some(host) = parsed.host_str() else { return Ok(()) };
    let ip = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let lookup = tokio::net::lookup_host((host, 0));
            let Ok(Ok(addrs)) = tokio::time::timeout(SAVE_RESOLVE_TIMEOUT, lookup).await else { return Ok(()) };
            let mut addrs = addrs.map(|addr| addr.ip());
            return match addrs.find_map(|ip| Some((ip, forbidden(ip)?))) {
                Some((ip, reason)) => Err(format!("`{host}` resolves to {}", refusal(ip, reason))),
                None => Ok(()),
            };
        }
    };
    forbidden(ip).map_or(Ok(()), |reason| Err(refusal(ip, reason)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_special_and_ipv4_reaching_addresses_are_forbidden() {
        let forbidden_ips = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "198.18.0.1",
            "198.19.255.254",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.0.8",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
        ];
        for ip in forbidden_ips {
            assert!(forbidden(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8", "198.20.0.1", "192.0.1.1", "2a00:1450::1"] {
            assert!(forbidden(ip.parse().unwrap()).is_none(), "{ip}");
        }
    }
}
