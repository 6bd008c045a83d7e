//! Which origins a plugin may reach: deny by default, grant by `allowed_hosts`.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use super::address::{Cidr, ForbiddenAddress, check_address};

/// One granted origin: `https://host[:port]`, where `host` may start with `*.` to cover
/// subdomains (not the bare domain). `http://` is accepted for operator-run test platforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: String,
    host: HostMatch,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Exact(String),
    Subdomains(String),
}

impl HostPattern {
    /// Parses `https://host[:port]` or `https://*.domain[:port]`.
    pub fn parse(origin: &str) -> Result<Self, String> {
        let (scheme, rest) = origin
            .split_once("://")
            .ok_or_else(|| format!("`{origin}` is not of the form https://host[:port]"))?;
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "`{origin}`: only https (or http for local test platforms) is allowed"
            ));
        }
        let (wildcard, rest) = match rest.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let probe =
            Url::parse(&format!("{scheme}://{rest}")).map_err(|e| format!("`{origin}`: {e}"))?;
        if probe.path() != "/" || probe.query().is_some() || !probe.username().is_empty() {
            return Err(format!(
                "`{origin}`: give an origin only, without path, query or user"
            ));
        }
        let host = probe
            .host_str()
            .ok_or_else(|| format!("`{origin}` has no host"))?
            .to_ascii_lowercase();
        let port = probe.port_or_known_default().unwrap_or(443);
        let host = if wildcard {
            HostMatch::Subdomains(host)
        } else {
            HostMatch::Exact(host)
        };
        Ok(HostPattern {
            scheme: scheme.to_string(),
            host,
            port,
        })
    }

    fn matches(&self, url: &Url) -> bool {
        if url.scheme() != self.scheme || url.port_or_known_default() != Some(self.port) {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        match &self.host {
            HostMatch::Exact(exact) => host == *exact,
            HostMatch::Subdomains(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            }
        }
    }
}

/// Why a request may not leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why [`screen_url`] refused a URL.
#[derive(Debug)]
pub enum UrlRefusal {
    /// Not a URL, credentials in it, or no host.
    Malformed(String),
    /// An IP address the private-address guard refuses.
    Forbidden(ForbiddenAddress),
}

/// What every outbound URL must pass before its host is considered: it parses, carries no
/// credentials, has a host, and an IP-address host passes the private-address guard (with
/// `allowed` ranges let through). Returns the URL and its IP address, when the host is one;
/// names are checked by the guard's resolver when the request is made.
pub fn screen_url(url: &str, allowed: &[Cidr]) -> Result<(Url, Option<IpAddr>), UrlRefusal> {
    let parsed = Url::parse(url)
        .map_err(|e| UrlRefusal::Malformed(format!("`{url}` is not a valid URL: {e}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefusal::Malformed(
            "credentials in URLs are refused; use headers".into(),
        ));
    }
    let ip: Option<IpAddr> = match parsed.host() {
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(ip)) => Some(ip.into()),
        Some(Host::Ipv6(ip)) => Some(ip.into()),
        None => return Err(UrlRefusal::Malformed(format!("`{url}` has no host"))),
    };
    if let Some(ip) = ip {
        check_address(ip, allowed).map_err(UrlRefusal::Forbidden)?;
    }
    Ok((parsed, ip))
}

/// A plugin's egress grants.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    granted: Vec<HostPattern>,
    /// The grants as the operator wrote them, for refusals to quote.
    written: Vec<String>,
    allowed_ranges: Vec<Cidr>,
}

impl EgressPolicy {
    /// Grants the given origins (an empty list grants nothing) and lets the given address
    /// ranges through the private-address guard.
    pub fn new(allowed_hosts: &[String], allowed_ranges: &[String]) -> Result<Self, String> {
        let granted = allowed_hosts
            .iter()
            .map(|o| HostPattern::parse(o))
            .collect::<Result<_, _>>()?;
        let allowed_ranges = allowed_ranges
            .iter()
            .map(|r| Cidr::parse(r))
            .collect::<Result<_, _>>()?;
        Ok(EgressPolicy {
            granted,
            written: allowed_hosts.to_vec(),
            allowed_ranges,
        })
    }

    /// The ranges the operator let through the private-address guard.
    pub fn allowed_ranges(&self) -> &[Cidr] {
        &self.allowed_ranges
    }

    /// Parses `url` and checks it against the grants. A refusal names the full origin (port
    /// included when it is not the scheme's default), what is granted, and the grant that would
    /// allow it.
    pub fn check(&self, url: &str) -> Result<Url, Denied> {
        let (parsed, ip) =
            screen_url(url, &self.allowed_ranges).map_err(|refusal| match refusal {
                UrlRefusal::Forbidden(e) => Denied(e.to_string()),
                UrlRefusal::Malformed(why) => Denied(why),
            })?;
        let host = match ip {
            Some(IpAddr::V6(ip)) => format!("[{ip}]"),
            Some(ip) => ip.to_string(),
            None => parsed.host_str().unwrap_or_default().to_string(),
        };
        if self.granted.iter().any(|g| g.matches(&parsed)) {
            return Ok(parsed);
        }
        let origin = match parsed.port() {
            Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        };
        let granted = if self.written.is_empty() {
            "none".to_string()
        } else {
            self.written.join(", ")
        };
        Err(Denied(format!(
            "{origin} is not among the plugin's allowed hosts (granted: {granted}); \
             to allow it, add \"{origin}\" to `allowed_hosts` in the plugin's plugins.toml entry"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> EgressPolicy {
        EgressPolicy::new(
            &hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            &[],
        )
        .unwrap()
    }

    #[test]
    fn a_refusal_names_the_full_origin_what_is_granted_and_the_grant_that_would_allow_it() {
        let p = EgressPolicy::new(
            &["http://127.0.0.1:18300".to_string()],
            &["127.0.0.0/8".to_string()],
        )
        .unwrap();
        let refused = p.check("http://127.0.0.1:18390/media/1.mp4").unwrap_err().0;
        assert!(
            refused.starts_with("http://127.0.0.1:18390 is not among"),
            "{refused}"
        );
        assert!(
            refused.contains("granted: http://127.0.0.1:18300"),
            "{refused}"
        );
        assert!(
            refused.contains("add \"http://127.0.0.1:18390\""),
            "{refused}"
        );
        // The default port is not spelled; nothing granted says so.
        let none = policy(&[])
            .check("https://upload.us.tiktokapis.com/v/1")
            .unwrap_err()
            .0;
        assert!(
            none.starts_with("https://upload.us.tiktokapis.com is not among")
                && none.contains("granted: none"),
            "{none}"
        );
    }

    #[test]
    fn ip_literals_in_every_spelling_are_checked_against_the_guard() {
        let p = policy(&[
            "http://127.0.0.1",
            "http://169.254.169.254",
            "http://[::ffff:7f00:1]",
            "http://10.0.0.1",
        ]);
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:127.0.0.1]/",
            "http://012.0.0.1/",
        ] {
            let denied = p.check(url).expect_err(url);
            assert!(
                denied.0.contains("refused unless the operator allows"),
                "{url}: {denied}"
            );
        }
    }

    #[test]
    fn an_allowed_range_opens_a_granted_private_host() {
        let hosts = vec!["http://127.0.0.1:8080".to_string()];
        let p = EgressPolicy::new(&hosts, &["127.0.0.1/32".to_string()]).unwrap();
        assert!(p.check("http://127.0.0.1:8080/graph/me").is_ok());
        // The range does not grant the host: other ports stay closed.
        assert!(p.check("http://127.0.0.1:9090/").is_err());
    }

    #[test]
    fn an_empty_grant_list_allows_nothing() {
        assert!(policy(&[]).check("https://graph.facebook.com/me").is_err());
    }

    #[test]
    fn exact_hosts_match_scheme_host_and_port() {
        let p = policy(&["https://graph.facebook.com"]);
        assert!(
            p.check("https://graph.facebook.com/v23.0/me?fields=id")
                .is_ok()
        );
        assert!(p.check("https://GRAPH.facebook.com/me").is_ok());
        assert!(p.check("http://graph.facebook.com/me").is_err());
        assert!(p.check("https://graph.facebook.com:8443/me").is_err());
        assert!(
            p.check("https://graph.facebook.com.evil.example/me")
                .is_err()
        );
        assert!(p.check("https://user:pw@graph.facebook.com/me").is_err());
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let p = policy(&["https://*.tiktokapis.com"]);
        assert!(p.check("https://open.tiktokapis.com/v2/user/info/").is_ok());
        assert!(p.check("https://open-upload.tiktokapis.com/video/").is_ok());
        assert!(p.check("https://tiktokapis.com/").is_err());
        assert!(p.check("https://eviltiktokapis.com/").is_err());
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(HostPattern::parse("graph.facebook.com").is_err());
        assert!(HostPattern::parse("ftp://x.example").is_err());
        assert!(HostPattern::parse("https://x.example/path").is_err());
        assert!(HostPattern::parse("http://127.0.0.1:8080").is_ok());
    }
}
