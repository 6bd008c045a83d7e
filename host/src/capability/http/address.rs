//! The private-address guard: which IP addresses egress may never reach unless the operator
//! allowed a range for the plugin, and the DNS resolver that enforces it.
//!
//! The host resolves names itself and hands reqwest only the addresses it checked, so the
//! connection goes to an address that passed (no second lookup, no DNS rebinding between check
//! and connect). URLs with IP literals never reach a resolver; [`EgressPolicy`](super::EgressPolicy)
//! checks those with [`forbidden_reason`] directly. Every IPv4 spelling (decimal `2130706433`,
//! octal `0177.0.0.1`, hex `0x7f.1`) is normalized by the URL parser before the check.
//!
//! Which blocks are refused, and why, is the table in `special.rs` ([`IPV4_SPECIAL`],
//! [`IPV6_SPECIAL`], [`NOT_IN_REGISTRIES`]), transcribed from IANA's special-purpose address
//! registries; its module docs give the sources and the rules.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use super::special::{
    CARRIES_IPV4, IPV4_SPECIAL, IPV6_SPECIAL, NOT_IN_REGISTRIES, Reach, SpecialBlock,
};

/// An address range in CIDR notation (`127.0.0.1/32`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
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

/// Every row, parsed once.
static TABLE: LazyLock<Vec<(Cidr, &'static SpecialBlock)>> = LazyLock::new(|| {
    IPV4_SPECIAL
        .iter()
        .chain(IPV6_SPECIAL)
        .chain(NOT_IN_REGISTRIES)
        .map(|row| {
            let cidr = Cidr::parse(row.block).expect("the table's blocks are valid CIDRs");
            (cidr, row)
        })
        .collect()
});

/// Why an address may not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// It lies in a refused block (the most specific one).
    In(&'static SpecialBlock),
    /// It is a NAT64 or 6to4 address carrying an IPv4 address that lies in a refused block.
    Carries {
        /// The NAT64 or 6to4 block.
        carrier: &'static SpecialBlock,
        /// The IPv4 address it carries.
        ipv4: Ipv4Addr,
        /// The refused block that IPv4 address lies in.
        block: &'static SpecialBlock,
    },
}

impl Reason {
    /// The refused block the verdict rests on.
    pub fn block(&self) -> &'static SpecialBlock {
        match self {
            Reason::In(block) | Reason::Carries { block, .. } => block,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::In(b) => write!(f, "in {} ({}, {})", b.block, b.name, b.rfc),
            Reason::Carries {
                carrier,
                ipv4,
                block: b,
            } => write!(
                f,
                "in {} ({}, {}) and carries {ipv4}, which is in {} ({}, {})",
                carrier.block, carrier.name, carrier.rfc, b.block, b.name, b.rfc
            ),
        }
    }
}

/// Why `ip` may not be reached, or `None` for a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<Reason> {
    let mut refused: Option<(u8, &'static SpecialBlock)> = None;
    let mut carrier = None;
    for (cidr, row) in TABLE.iter() {
        if !cidr.contains(ip) {
            continue;
        }
        if let Some((_, at)) = CARRIES_IPV4.iter().find(|(block, _)| *block == row.block) {
            carrier = Some((*row, *at));
        } else if row.reach != Reach::True && refused.is_none_or(|(p, _)| cidr.prefix > p) {
            refused = Some((cidr.prefix, *row));
        }
    }
    if let Some((_, row)) = refused {
        return Some(Reason::In(row));
    }
    if let (Some((carrier, at)), IpAddr::V6(v6)) = (carrier, ip) {
        let o = v6.octets();
        let ipv4 = Ipv4Addr::new(o[at], o[at + 1], o[at + 2], o[at + 3]);
        if let Some(reason) = forbidden_reason(IpAddr::V4(ipv4)) {
            return Some(Reason::Carries {
                carrier,
                ipv4,
                block: reason.block(),
            });
        }
    }
    None
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
    /// Which refused block it lies in.
    pub reason: Reason,
}

/// The refusal an HTTP client error carries (the resolver's [`ForbiddenAddress`], somewhere in
/// its causes), if it is one.
pub fn forbidden_in(error: &reqwest::Error) -> Option<&ForbiddenAddress> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<ForbiddenAddress>() {
            return Some(forbidden);
        }
        source = cause.source();
    }
    None
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
    use std::net::Ipv6Addr;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    fn is_carrier(row: &SpecialBlock) -> bool {
        CARRIES_IPV4.iter().any(|(block, _)| *block == row.block)
    }

    /// The first and last address of `range`, and the addresses just before and after it.
    fn bounds(range: &Cidr) -> ([IpAddr; 2], Vec<IpAddr>) {
        match range.network {
            IpAddr::V4(net) => {
                let hosts = u32::MAX.checked_shr(range.prefix.into()).unwrap_or(0);
                let (first, last) = (u32::from(net) & !hosts, u32::from(net) | hosts);
                let outside = [first.checked_sub(1), last.checked_add(1)]
                    .into_iter()
                    .flatten()
                    .map(|a| IpAddr::V4(a.into()))
                    .collect();
                ([first, last].map(|a| IpAddr::V4(a.into())), outside)
            }
            IpAddr::V6(net) => {
                let hosts = u128::MAX.checked_shr(range.prefix.into()).unwrap_or(0);
                let (first, last) = (u128::from(net) & !hosts, u128::from(net) | hosts);
                let outside = [first.checked_sub(1), last.checked_add(1)]
                    .into_iter()
                    .flatten()
                    .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
                    .collect();
                ([first, last].map(|a| IpAddr::V6(a.into())), outside)
            }
        }
    }

    /// The decision for every entry the registries mark globally reachable: `Some(block)` when
    /// a covering block kept refused on purpose refuses it, `None` when it is allowed.
    const GLOBALLY_REACHABLE: &[(&str, Option<&str>)] = &[
        ("192.0.0.9/32", Some("192.0.0.0/24")),
        ("192.0.0.10/32", Some("192.0.0.0/24")),
        ("192.31.196.0/24", None),
        ("192.52.193.0/24", None),
        ("192.175.48.0/24", None),
        ("2001:1::1/128", Some("2001::/23")),
        ("2001:1::2/128", Some("2001::/23")),
        ("2001:1::3/128", Some("2001::/23")),
        ("2001:3::/32", Some("2001::/23")),
        ("2001:4:112::/48", Some("2001::/23")),
        ("2001:20::/28", Some("2001::/23")),
        ("2001:30::/28", Some("2001::/23")),
        ("2620:4f:8000::/48", None),
    ];

    #[test]
    fn every_row_is_a_valid_block_written_as_its_network() {
        assert_eq!(TABLE.len(), 26 + 25 + NOT_IN_REGISTRIES.len());
        for (range, row) in TABLE.iter() {
            let [first, _] = bounds(range).0;
            assert_eq!(first, range.network, "{} has host bits set", row.block);
            assert!(
                !row.name.is_empty() && row.rfc.starts_with("RFC "),
                "{row:?}"
            );
        }
    }

    #[test]
    fn every_row_decides_its_first_and_last_address_and_not_its_neighbours() {
        for (range, row) in TABLE.iter() {
            let (inside, outside) = bounds(range);
            for addr in inside {
                let verdict = forbidden_reason(addr);
                if row.reach == Reach::True && !is_carrier(row) {
                    let expected = GLOBALLY_REACHABLE
                        .iter()
                        .find(|(block, _)| *block == row.block)
                        .unwrap_or_else(|| panic!("{}: no decision recorded", row.block))
                        .1;
                    assert_eq!(verdict.map(|r| r.block().block), expected, "{addr}");
                    continue;
                }
                // A carrier's first and last addresses carry 0.0.0.0 and 255.255.255.255.
                let reason = verdict.unwrap_or_else(|| panic!("{addr} ({}) passed", row.block));
                let by = cidr(reason.block().block);
                if is_carrier(row) {
                    assert!(matches!(reason, Reason::Carries { carrier, .. } if carrier == *row));
                } else {
                    // Named by this row or by a more specific one inside it.
                    assert!(
                        range.contains(by.network) && by.prefix >= range.prefix,
                        "{addr}: {reason} instead of {}",
                        row.block
                    );
                }
            }
            for addr in outside {
                assert!(!range.contains(addr), "{addr} is outside {}", row.block);
                let verdict = forbidden_reason(addr);
                assert_ne!(verdict.map(|r| r.block()), Some(*row), "{addr}");
                if !TABLE.iter().any(|(other, _)| other.contains(addr)) {
                    assert_eq!(verdict, None, "{addr}, just outside {}", row.block);
                }
            }
        }
    }

    #[test]
    fn the_gaps_of_the_old_table_are_closed() {
        for (addr, block) in [
            ("2002:7f00:1::1", "127.0.0.0/8"),
            ("2002:a00:1::", "10.0.0.0/8"),
            ("2002:c0a8:101::1", "192.168.0.0/16"),
            ("2002:a9fe:a9fe::", "169.254.0.0/16"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32"),
            ("2001::1", "2001::/32"),
            ("::ffff:127.0.0.1", "::ffff:0:0/96"),
            ("::ffff:8.8.8.8", "::ffff:0:0/96"),
            ("::ffff:0:7f00:1", "::ffff:0:0:0/96"),
            ("::ffff:0:808:808", "::ffff:0:0:0/96"),
            ("::7f00:1", "::/96"),
            ("::808:808", "::/96"),
            ("fec0::1", "fec0::/10"),
            ("feff:ffff::1", "fec0::/10"),
            ("100::1", "100::/64"),
            ("100::ffff:ffff:ffff:ffff", "100::/64"),
            ("192.0.2.1", "192.0.2.0/24"),
            ("198.51.100.7", "198.51.100.0/24"),
            ("203.0.113.255", "203.0.113.0/24"),
            ("192.0.0.1", "192.0.0.0/29"),
            ("192.0.0.200", "192.0.0.0/24"),
            ("198.18.0.1", "198.18.0.0/15"),
            ("198.19.255.255", "198.18.0.0/15"),
            ("240.0.0.1", "240.0.0.0/4"),
            ("255.255.255.254", "240.0.0.0/4"),
            ("255.255.255.255", "255.255.255.255/32"),
            ("0.1.2.3", "0.0.0.0/8"),
            ("224.0.0.1", "224.0.0.0/4"),
            ("ff02::1", "ff00::/8"),
            ("64:ff9b::a00:1", "10.0.0.0/8"),
            ("64:ff9b::7f00:1", "127.0.0.0/8"),
            ("64:ff9b:1::808:808", "64:ff9b:1::/48"),
            ("3fff::1", "3fff::/20"),
            ("5f00::1", "5f00::/16"),
            ("2001:db8::1", "2001:db8::/32"),
        ] {
            let reason = forbidden_reason(ip(addr)).unwrap_or_else(|| panic!("{addr} passed"));
            assert_eq!(reason.block().block, block, "{addr}: {reason}");
        }
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
            "192.0.1.255",
            "192.0.3.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2a03:2880:f10c::1",
            "2606:4700::1111",
            // NAT64 and 6to4 forms of public IPv4 addresses.
            "64:ff9b::808:808",
            "2002:808:808::1",
            // Globally reachable entries outside any refused block.
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.42",
            "2620:4f:8000::42",
            // Just outside 2001::/23 and 2002::/16.
            "2001:200::1",
            "2003::1",
        ] {
            let verdict = forbidden_reason(ip(addr));
            assert!(
                verdict.is_none(),
                "{addr} is public, not {}",
                verdict.unwrap()
            );
        }
    }

    #[test]
    fn carried_addresses_are_named_in_the_refusal() {
        let refused = check_address(ip("2002:7f00:1::1"), &[]).unwrap_err();
        let text = refused.to_string();
        assert!(text.contains("2002::/16 (6to4"), "{text}");
        assert!(text.contains("carries 127.0.0.1"), "{text}");
        assert!(text.contains("127.0.0.0/8 (Loopback"), "{text}");
        let refused = check_address(ip("169.254.169.254"), &[]).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("169.254.169.254 is in 169.254.0.0/16 (Link Local, RFC 3927)"),
            "{refused}"
        );
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
        // An IPv4 range does not open the IPv6 forms carrying its addresses...
        assert!(check_address(ip("64:ff9b::7f00:1"), &allowed).is_err());
        assert!(check_address(ip("::ffff:127.0.0.1"), &allowed).is_err());
        // ...but a range of those forms does.
        let nat64 = [cidr("64:ff9b::7f00:0/120"), cidr("2001::/32")];
        assert!(check_address(ip("64:ff9b::7f00:1"), &nat64).is_ok());
        assert!(check_address(ip("2001::1"), &nat64).is_ok());
        assert!(check_address(ip("2001:1::1"), &nat64).is_err());
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
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(cidr("::/0").contains(ip("2001:db8::1")));
    }
}
