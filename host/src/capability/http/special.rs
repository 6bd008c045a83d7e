//! The table of address blocks egress may not reach.
//!
//! # Where the table comes from
//!
//! [`IPV4_SPECIAL`] and [`IPV6_SPECIAL`] transcribe, one row per entry, IANA's
//! IPv4 Special-Purpose Address Registry
//! (<https://www.iana.org/assignments/iana-ipv4-special-registry/>) and IPv6 Special-Purpose
//! Address Registry (<https://www.iana.org/assignments/iana-ipv6-special-registry/>), with each
//! entry's "Globally Reachable" column as the registry gives it (True, False or N/A). They follow
//! the registries as published in 2025 (the newest row is RFC 9780's Dummy IPv6 Prefix); a new
//! registry entry needs a new row here.
//! [`NOT_IN_REGISTRIES`] adds the blocks egress must not reach that those two registries do not
//! list: multicast, site-local `fec0::/10`, and the deprecated IPv6 forms that carry an IPv4
//! address (IPv4-compatible `::/96`, IPv4-translated `::ffff:0:0:0/96`).
//!
//! # The rules
//!
//! - An address in any block whose registry entry is not "Globally Reachable = True" (False or
//!   N/A), or in a block of [`NOT_IN_REGISTRIES`], is refused. The most specific such block is
//!   named in the refusal.
//! - Two IPv6 blocks carry an IPv4 address and are judged by it, against the IPv4 table:
//!   NAT64's well-known prefix `64:ff9b::/96` (the IPv4 address in the last 32 bits; the
//!   registry says globally reachable, and DNS64 hands these out for public hosts on IPv6-only
//!   networks) and 6to4 `2002::/16` (the IPv4 address in bits 16-47; registry N/A). So
//!   `64:ff9b::808:808` passes and `64:ff9b::7f00:1`, `2002:a00:1::1` are refused.
//! - The local-use NAT64 prefix `64:ff9b:1::/48` (registry False) is refused whole: where its
//!   IPv4 address sits depends on the prefix length its operator chose. IPv4-mapped
//!   `::ffff:0:0/96` (registry False) is refused whole too, public IPv4 inside or not: a name
//!   resolves to the IPv4 address itself, never to its mapped form. Teredo `2001::/32` (N/A) is
//!   refused whole: its client address is obfuscated and its relays are not the platform.
//! - An entry the registry marks globally reachable is allowed, unless a covering block is
//!   refused; the guard keeps two covering blocks refused on purpose:
//!   - `192.0.0.0/24` (IETF Protocol Assignments), so `192.0.0.9/32` (PCP anycast) and
//!     `192.0.0.10/32` (TURN anycast) stay refused: an anycast service address is answered by
//!     the nearest such server, which is usually the operator's own gateway.
//!   - `2001::/23` (IETF Protocol Assignments), so `2001:1::1/128`, `2001:1::2/128`,
//!     `2001:1::3/128` (PCP, TURN and DNS-SD registration anycast, as above), `2001:3::/32`
//!     (AMT), `2001:4:112::/48` (AS112-v6), `2001:20::/28` (ORCHIDv2) and `2001:30::/28`
//!     (DETs) stay refused: ORCHIDv2 and DETs are identifiers rather than locators, and no API
//!     platform is served from the others.
//!
//!   The globally reachable entries not covered that way are allowed: `192.31.196.0/24`
//!   (AS112-v4), `192.52.193.0/24` (AMT), `192.175.48.0/24` (AS112) and `2620:4f:8000::/48`
//!   (AS112).
//! - The operator's `allowed_ranges` for a plugin open exactly the addresses they contain,
//!   whatever the table says ([`check_address`](super::check_address)). They are matched against the address
//!   connected to: a range of IPv4 addresses does not open their NAT64 or 6to4 forms.

/// The "Globally Reachable" column of a registry entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Globally reachable: allowed unless a covering block is refused.
    True,
    /// Not globally reachable: refused.
    False,
    /// The registry gives no value (deprecated or tunnelling blocks): refused.
    NotApplicable,
    /// Not in the special-purpose registries; listed by this guard, and refused.
    Unlisted,
}

/// One row of the table: a registry entry (or one of the guard's own additions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialBlock {
    /// The address block, as the registry writes it.
    pub block: &'static str,
    /// The registry's name for it.
    pub name: &'static str,
    /// The RFC the registry cites.
    pub rfc: &'static str,
    /// The registry's "Globally Reachable".
    pub reach: Reach,
}

const fn row(
    block: &'static str,
    name: &'static str,
    rfc: &'static str,
    reach: Reach,
) -> SpecialBlock {
    SpecialBlock {
        block,
        name,
        rfc,
        reach,
    }
}

use Reach::{False, NotApplicable, True, Unlisted};

/// IANA IPv4 Special-Purpose Address Registry, one row per entry (the registry lists
/// `192.0.0.170/32, 192.0.0.171/32` as one entry; here it is two rows).
#[rustfmt::skip]
pub const IPV4_SPECIAL: &[SpecialBlock] = &[
    row("0.0.0.0/8",          "\"This network\"",                          "RFC 791, Section 3.2",        False),
    row("0.0.0.0/32",         "\"This host on this network\"",             "RFC 1122, Section 3.2.1.3",   False),
    row("10.0.0.0/8",         "Private-Use",                               "RFC 1918",                    False),
    row("100.64.0.0/10",      "Shared Address Space",                      "RFC 6598",                    False),
    row("127.0.0.0/8",        "Loopback",                                  "RFC 1122, Section 3.2.1.3",   False),
    row("169.254.0.0/16",     "Link Local",                                "RFC 3927",                    False),
    row("172.16.0.0/12",      "Private-Use",                               "RFC 1918",                    False),
    row("192.0.0.0/24",       "IETF Protocol Assignments",                 "RFC 6890, Section 2.1",       False),
    row("192.0.0.0/29",       "IPv4 Service Continuity Prefix",            "RFC 7335",                    False),
    row("192.0.0.8/32",       "IPv4 dummy address",                        "RFC 7600",                    False),
    row("192.0.0.9/32",       "Port Control Protocol Anycast",             "RFC 7723",                    True),
    row("192.0.0.10/32",      "Traversal Using Relays around NAT Anycast", "RFC 8155",                    True),
    row("192.0.0.170/32",     "NAT64/DNS64 Discovery",                     "RFC 8880, RFC 7050",          False),
    row("192.0.0.171/32",     "NAT64/DNS64 Discovery",                     "RFC 8880, RFC 7050",          False),
    row("192.0.2.0/24",       "Documentation (TEST-NET-1)",                "RFC 5737",                    False),
    row("192.31.196.0/24",    "AS112-v4",                                  "RFC 7535",                    True),
    row("192.52.193.0/24",    "AMT",                                       "RFC 7450",                    True),
    row("192.88.99.0/24",     "Deprecated (6to4 Relay Anycast)",           "RFC 7526",                    NotApplicable),
    row("192.88.99.2/32",     "6a44-relay anycast address",                "RFC 6751",                    False),
    row("192.168.0.0/16",     "Private-Use",                               "RFC 1918",                    False),
    row("192.175.48.0/24",    "Direct Delegation AS112 Service",           "RFC 7534",                    True),
    row("198.18.0.0/15",      "Benchmarking",                              "RFC 2544",                    False),
    row("198.51.100.0/24",    "Documentation (TEST-NET-2)",                "RFC 5737",                    False),
    row("203.0.113.0/24",     "Documentation (TEST-NET-3)",                "RFC 5737",                    False),
    row("240.0.0.0/4",        "Reserved",                                  "RFC 1112, Section 4",         False),
    row("255.255.255.255/32", "Limited Broadcast",                         "RFC 8190, RFC 919 Section 7", False),
];

/// IANA IPv6 Special-Purpose Address Registry, one row per entry.
#[rustfmt::skip]
pub const IPV6_SPECIAL: &[SpecialBlock] = &[
    row("::1/128",           "Loopback Address",                                   "RFC 4291",                  False),
    row("::/128",            "Unspecified Address",                                "RFC 4291",                  False),
    row("::ffff:0:0/96",     "IPv4-mapped Address",                                "RFC 4291",                  False),
    row("64:ff9b::/96",      "IPv4-IPv6 Translat.",                                "RFC 6052",                  True),
    row("64:ff9b:1::/48",    "IPv4-IPv6 Translat.",                                "RFC 8215",                  False),
    row("100::/64",          "Discard-Only Address Block",                         "RFC 6666",                  False),
    row("100:0:0:1::/64",    "Dummy IPv6 Prefix",                                  "RFC 9780",                  False),
    row("2001::/23",         "IETF Protocol Assignments",                          "RFC 2928",                  False),
    row("2001::/32",         "TEREDO",                                             "RFC 4380, RFC 8190",        NotApplicable),
    row("2001:1::1/128",     "Port Control Protocol Anycast",                      "RFC 7723",                  True),
    row("2001:1::2/128",     "Traversal Using Relays around NAT Anycast",          "RFC 8155",                  True),
    row("2001:1::3/128",     "DNS-SD Service Registration Protocol Anycast",       "RFC 9665",                  True),
    row("2001:2::/48",       "Benchmarking",                                       "RFC 5180, RFC Errata 1752", False),
    row("2001:3::/32",       "AMT",                                                "RFC 7450",                  True),
    row("2001:4:112::/48",   "AS112-v6",                                           "RFC 7535",                  True),
    row("2001:10::/28",      "Deprecated (previously ORCHID)",                     "RFC 4843",                  NotApplicable),
    row("2001:20::/28",      "ORCHIDv2",                                           "RFC 7343",                  True),
    row("2001:30::/28",      "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374",                  True),
    row("2001:db8::/32",     "Documentation",                                      "RFC 3849",                  False),
    row("2002::/16",         "6to4",                                               "RFC 3056",                  NotApplicable),
    row("2620:4f:8000::/48", "Direct Delegation AS112 Service",                    "RFC 7534",                  True),
    row("3fff::/20",         "Documentation",                                      "RFC 9637",                  False),
    row("5f00::/16",         "Segment Routing (SRv6) SIDs",                        "RFC 9602",                  False),
    row("fc00::/7",          "Unique-Local",                                       "RFC 4193, RFC 8190",        False),
    row("fe80::/10",         "Link-Local Unicast",                                 "RFC 4291",                  False),
];

/// Blocks the special-purpose registries do not list that egress must not reach either.
#[rustfmt::skip]
pub const NOT_IN_REGISTRIES: &[SpecialBlock] = &[
    row("224.0.0.0/4",     "Multicast",                    "RFC 5771",                  Unlisted),
    row("::/96",           "IPv4-compatible (deprecated)", "RFC 4291, Section 2.5.5.1", Unlisted),
    row("::ffff:0:0:0/96", "IPv4-translated",              "RFC 2765, Section 2.1",     Unlisted),
    row("fec0::/10",       "Site-Local (deprecated)",      "RFC 3879",                  Unlisted),
    row("ff00::/8",        "Multicast",                    "RFC 4291, Section 2.7",     Unlisted),
];

/// IPv6 blocks judged by the IPv4 address they carry, with the byte where it starts.
pub(super) const CARRIES_IPV4: &[(&str, usize)] = &[("64:ff9b::/96", 12), ("2002::/16", 2)];
