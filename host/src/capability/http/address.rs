//! The private-address guard: which IP addresses egress may never reach unless the operator
//! allowed a range for the plugin, and the DNS resolver that enforces it.
//!
//! The host resolves names itself and hands reqwest only the addresses it checked, so the
//! connection goes to an address that passed (no second lookup, no DNS rebinding between check
//! and connect). URLs with IP literals never reach a resolver; [`EgressPolicy`](super::EgressPolicy)
//! checks those with [`forbidden_reason`] directly. Every IPv4 spelling (decimal `2130706433`,
//! octal `0177.0.0.1`, hex `0x7f.1`) is normalized by the URL parser before the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// An address range in CIDR notation (`127.0.0.1/32`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/prefix`; a bare address means that one address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: prefix must be 0-{max}"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }

    /// True when `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (bytes, bits) = ((prefix / 8) as usize, prefix % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || (a[bytes] ^ b[bytes]) >> (8 - bits) == 0
}

/// Why `ip` may not be reached, or `None` for a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        (0, _) => "an unspecified (0.0.0.0/8) address",
        (127, _) => "a loopback address",
        (10, _) | (172, 16..=31) | (192, 168) => "a private (RFC 1918) address",
        (169, 254) => "a link-local address (cloud metadata lives here)",
        (100, 64..=127) => "a carrier-grade NAT (100.64.0.0/10) address",
        (192, 0) if ip.octets()[2] == 0 => "an IETF protocol assignment (192.0.0.0/24)",
        (198, 18..=19) => "a benchmarking (198.18.0.0/15) address",
        (224..=239, _) => "a multicast address",
        (240..=255, _) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("the unspecified address (::)");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if segments[..5] == [0, 0, 0, 0, 0] && segments[5] == 0xffff {
        return Some("an IPv4-mapped IPv6 address");
    }
    if segments[..6] == [0; 6] {
        return Some("an IPv4-compatible IPv6 address");
    }
    if segments[0] == 0x64 && segments[1] == 0xff9b {
        return Some("a NAT64 (64:ff9b::/96) address");
    }
    match segments[0] {
        s if s & 0xfe00 == 0xfc00 => Some("a unique-local (fc00::/7) address"),
        s if s & 0xffc0 == 0xfe80 => Some("a link-local (fe80::/10) address"),
        s if s & 0xff00 == 0xff00 => Some("a multicast address"),
        _ => None,
    }
}

/// Checks one address against the guard and the plugin's allowed ranges.
pub fn check_address(ip: IpAddr, allowed: &[Cidr]) -> Result<(), ForbiddenAddress> {
    match forbidden_reason(ip) {
        Some(reason) if !allowed.iter().any(|r| r.contains(ip)) => {
            Err(ForbiddenAddress { ip, reason })
        }
        _ => Ok(()),
    }
}

/// A refused address; the resolver returns it so the HTTP adapter can say `denied`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ip} is {reason}; egress there is refused unless the operator allows its range for this plugin"
)]
pub struct ForbiddenAddress {
    /// The address.
    pub ip: IpAddr,
    /// What kind of address it is.
    pub reason: &'static str,
}

/// Resolves names with the system resolver, then keeps only addresses the guard accepts.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    allowed: Arc<Vec<Cidr>>,
}

impl GuardedResolver {
    /// A resolver that also accepts addresses in `allowed`.
    pub fn new(allowed: Vec<Cidr>) -> Self {
        GuardedResolver {
            allowed: Arc::new(allowed),
        }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let usable: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match check_address(addr.ip(), &allowed) {
                    Ok(()) => true,
                    Err(error) => {
                        refused.get_or_insert(error);
                        false
                    }
                })
                .collect();
            match (usable.is_empty(), refused) {
                (true, Some(error)) => {
                    Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for addr in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "64:ff9b::a00:1",
        ] {
            assert!(
                forbidden_reason(ip(addr)).is_some(),
                "{addr} must be forbidden"
            );
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "8.8.8.8",
            "157.240.1.35",
            "172.32.0.1",
            "100.128.0.1",
            "2a03:2880:f10c::1",
            "2606:4700::1111",
        ] {
            assert!(forbidden_reason(ip(addr)).is_none(), "{addr} is public");
        }
    }

    #[test]
    fn allowed_ranges_open_exactly_their_addresses() {
        let allowed = [
            Cidr::parse("127.0.0.1/32").unwrap(),
            Cidr::parse("fd00::/8").unwrap(),
        ];
        assert!(check_address(ip("127.0.0.1"), &allowed).is_ok());
        assert!(check_address(ip("127.0.0.2"), &allowed).is_err());
        assert!(check_address(ip("fd12::1"), &allowed).is_ok());
        assert!(check_address(ip("169.254.169.254"), &allowed).is_err());
    }

    #[test]
    fn cidr_parsing_checks_prefixes() {
        assert!(
            Cidr::parse("10.0.0.0/8")
                .unwrap()
                .contains(ip("10.200.0.1"))
        );
        assert!(
            !Cidr::parse("10.0.0.0/9")
                .unwrap()
                .contains(ip("10.200.0.1"))
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("localhost/8").is_err());
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
    }
}
