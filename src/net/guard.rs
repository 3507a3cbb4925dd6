//! The address guard: which IP addresses may be contacted, and a DNS resolver
//! that drops the others, so a public name pointing at a private address is
//! refused too.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};

/// Whether an address is on the public internet: not loopback, private,
/// link-local (169.254.0.0/16 holds cloud metadata), carrier-grade NAT,
/// unspecified, multicast, broadcast, documentation, or IPv6 unique-local.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// Resolves names and keeps only public addresses, except for the hosts of
/// mirrors the user configured.
pub struct PublicResolver {
    trusted: Vec<String>,
}

impl PublicResolver {
    /// `trusted`: mirror base hosts, which may be local on purpose.
    pub fn new(trusted: Vec<String>) -> Self {
        PublicResolver { trusted }
    }
}

/// Why [`PublicResolver`] gave no address, kept in the transport error's
/// chain so the client can tell a DNS failure from an address it refuses
/// without reading messages.
#[derive(Debug)]
pub(crate) enum ResolveError {
    /// The name did not resolve (no such name, no answer from DNS).
    Lookup(std::io::Error),
    /// The name resolves only to addresses embarc does not contact.
    Private,
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::Lookup(e) => write!(f, "DNS lookup failed: {e}"),
            ResolveError::Private => f.write_str(PRIVATE),
        }
    }
}

impl std::error::Error for ResolveError {}

/// Why a name or address pointing inside the network is refused.
pub(crate) const PRIVATE: &str = "resolves only to loopback, private or link-local addresses";

/// Whether `host` is in the `.invalid` domain, which never resolves (RFC 6761
/// § 6.4): answered at once, without asking DNS.
fn is_invalid_domain(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "invalid" || host.ends_with(".invalid")
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let trusted = self.trusted.iter().any(|t| t.eq_ignore_ascii_case(&host));
        Box::pin(async move {
            if is_invalid_domain(&host) {
                return Err(ResolveError::Lookup(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the .invalid domain never resolves",
                ))
                .into());
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(ResolveError::Lookup)?
                .collect();
            if addrs.is_empty() {
                return Err(ResolveError::Lookup(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no address",
                ))
                .into());
            }
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| trusted || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(ResolveError::Private.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invalid_domain_is_recognised() {
        for h in ["invalid", "x.invalid", "A.B.INVALID."] {
            assert!(is_invalid_domain(h), "{h}");
        }
        for h in ["invalid.com", "x.invalidx", "example.com"] {
            assert!(!is_invalid_domain(h), "{h}");
        }
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(
                !is_public(a.parse().unwrap_or_else(|_| panic!("{a}"))),
                "{a}"
            );
        }
        for a in ["8.8.8.8", "104.244.42.1", "2606:4700::1111"] {
            assert!(
                is_public(a.parse().unwrap_or_else(|_| panic!("{a}"))),
                "{a}"
            );
        }
    }
}
