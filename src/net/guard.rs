//! The address guard: which IP addresses may be contacted, and a DNS resolver
//! that drops the others, so a public name pointing at a private address is
//! refused too.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};

/// Whether an address is on the public internet, following the IANA
/// special-purpose address registries (and Rust's unstable `is_global`).
///
/// IPv4: not "this network" (0/8), private (10/8, 172.16/12, 192.168/16),
/// carrier-grade NAT (100.64/10), loopback, link-local (169.254/16 holds
/// cloud metadata), IETF protocol assignments (192.0.0/24), documentation,
/// the 6to4 relay anycast (192.88.99/24), benchmarking (198.18/15),
/// multicast, reserved (240/4) or broadcast.
///
/// IPv6: only global unicast (`2000::/3`) outside its special blocks (IETF
/// protocol assignments `2001::/23`, which holds Teredo `2001::/32`;
/// documentation `2001:db8::/32` and `3fff::/20`; 6to4 `2002::/16`), plus two
/// forms that carry an IPv4 address, judged by it: IPv4-mapped
/// (`::ffff:a.b.c.d`) and the well-known NAT64 prefix (`64:ff9b::/96`, the
/// address a DNS64 resolver gives a public IPv4 host). Everything else is
/// refused, including the forms whose embedded IPv4 address is not where the
/// packets go or is easily chosen by anyone: IPv4-compatible (`::a.b.c.d`,
/// deprecated), local-use NAT64 (`64:ff9b:1::/48`), 6to4 and Teredo (refused
/// outright, whatever they embed), site-local (`fec0::/10`), unique-local,
/// link-local, multicast, loopback and unspecified.
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
                || (o[0] == 192 && o[1] == 88 && o[2] == 99)
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let o = v6.octets();
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                    o[12], o[13], o[14], o[15],
                )));
            }
            // Global unicast is 2000::/3; all else is special or unassigned.
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && s[1] < 0x0200)
                && !(s[0] == 0x2001 && s[1] == 0x0db8)
                && s[0] != 0x2002
                && (s[0] & 0xfff0) != 0x3ff0
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
            "198.18.0.1",
            "192.88.99.1",
            "240.0.0.1",
            // NAT64 of a private address; local-use NAT64, whatever it holds.
            "64:ff9b::7f00:1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::169.254.169.254",
            "64:ff9b:1::8.8.8.8",
            "64:ff9b:1::7f00:1",
            // IPv4-compatible (deprecated): refused outright.
            "::127.0.0.1",
            "::8.8.8.8",
            "::",
            // 6to4 and Teredo: refused outright.
            "2002:7f00:1::1",
            "2002:0808:0808::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            // Site-local (deprecated), discard-only, SRv6, unassigned.
            "fec0::1",
            "feff::1",
            "100::1",
            "5f00::1",
            "4000::1",
            "ff02::1",
            "fd12:3456::1",
        ] {
            assert!(
                !is_public(a.parse().unwrap_or_else(|_| panic!("{a}"))),
                "{a}"
            );
        }
        for a in [
            "8.8.8.8",
            "104.244.42.1",
            "2606:4700::1111",
            "2a03:2880:f12f:83:face:b00c::25de",
            // NAT64 of a public address (an IPv6-only network with DNS64).
            "64:ff9b::8.8.8.8",
            "64:ff9b::104.244.42.1",
        ] {
            assert!(
                is_public(a.parse().unwrap_or_else(|_| panic!("{a}"))),
                "{a}"
            );
        }
    }
}
