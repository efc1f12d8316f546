//! Which address a request came from. Without trusted proxies it is the
//! connection's peer, and forwarding headers are ignored: anyone can send
//! them. Behind a reverse proxy the peer is the proxy, so the operator names
//! the proxies (`--trusted-proxy CIDR`); a request whose peer is one of
//! them is read from its forwarding header, from the right: each trusted
//! proxy appends the address it received from, so the right-most hop that
//! is not a trusted proxy is the first address no trusted party vouches for
//! beyond, and everything left of it may be forged by the client.
//!
//! Only one header is read, the one the proxies set (`--proxy-header`):
//! a proxy that appends to `X-Forwarded-For` passes a client's forged
//! `Forwarded` through untouched, so reading whichever is present would let
//! the client choose its address.
//!
//! [`crate::http::delivery`] is the only caller.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The forwarding header the trusted proxies set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load
    /// balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// The proxies whose forwarding header is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ProxyHeader,
}

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>, header: ProxyHeader) -> Self {
        TrustedProxies { nets, header }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy
    /// and its header names a hop beyond it. A hop that is not an address
    /// (`unknown`, an obfuscated name, garbage) ends the walk: nothing
    /// left of it can be believed, so the last trusted hop is the answer.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer.ip());
        if !self.trusts(client) {
            return client;
        }
        let hops = match self.header {
            ProxyHeader::XForwardedFor => x_forwarded_for(headers),
            ProxyHeader::Forwarded => forwarded_for(headers),
        };
        for hop in hops.iter().rev() {
            let Some(ip) = hop else {
                break;
            };
            client = canonical(*ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

impl TrustedProxies {
    /// Whether the browser reached a trusted proxy over HTTPS, as the
    /// proxy says in `X-Forwarded-Proto` (or the `proto=` of the last
    /// `Forwarded` element). Sonde itself does not terminate TLS, so
    /// without a trusted proxy the answer is no.
    pub fn https(&self, peer: SocketAddr, headers: &HeaderMap) -> bool {
        if !self.trusts(peer.ip()) {
            return false;
        }
        let last = |name| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .map(|v| v.trim().to_owned())
        };
        let proto = match self.header {
            ProxyHeader::XForwardedFor => last("x-forwarded-proto"),
            ProxyHeader::Forwarded => last("forwarded").and_then(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("proto"))
                    .map(|(_, value)| value.trim().trim_matches('"').to_owned())
            }),
        };
        proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`) is the IPv4
/// address, so a visitor's id and a proxy's network do not depend on how the
/// socket or the proxy spelled it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every hop of every `X-Forwarded-For` line, in order; `None` for one that
/// is not an address.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|line| line.to_str().unwrap_or("?").split(','))
        .map(|hop| parse_hop(hop.trim()))
        .collect()
}

/// The `for=` of every element of every `Forwarded` line, in order; `None`
/// for an element without one or with one that is not an address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(axum::http::header::FORWARDED)
        .iter()
        .flat_map(|line| line.to_str().unwrap_or("?").split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_hop(value.trim().trim_matches('"')))
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                line.parse().unwrap(),
            );
        }
        map
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(nets: &[&str], header: ProxyHeader) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect(), header)
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let forged = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(
            none.client(peer("198.51.100.7"), &forged),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_forge_its_address() {
        let lb = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        let forged = headers("x-forwarded-for", &["203.0.113.9, 10.0.0.2"]);
        assert_eq!(lb.client(peer("198.51.100.7"), &forged), ip("198.51.100.7"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let lb = proxies(
            &["10.0.0.0/8", "192.168.1.1/32"],
            ProxyHeader::XForwardedFor,
        );
        // The client forged the first hop; the proxies appended the rest.
        let chain = headers(
            "x-forwarded-for",
            &["203.0.113.9, 198.51.100.7", "192.168.1.1"],
        );
        assert_eq!(lb.client(peer("10.1.2.3"), &chain), ip("198.51.100.7"));
        // Every hop trusted: the left-most is as far as anyone vouches.
        let internal = headers("x-forwarded-for", &["10.0.0.5, 192.168.1.1"]);
        assert_eq!(lb.client(peer("10.1.2.3"), &internal), ip("10.0.0.5"));
        // No header: the proxy itself.
        assert_eq!(
            lb.client(peer("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn a_hop_that_is_not_an_address_ends_the_walk() {
        let lb = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        let garbage = headers("x-forwarded-for", &["198.51.100.7, unknown, 10.0.0.2"]);
        assert_eq!(lb.client(peer("10.1.2.3"), &garbage), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_is_read_when_the_proxies_set_it_and_only_then() {
        let rfc = proxies(
            &["10.0.0.0/8", "2001:db8:cafe::/48"],
            ProxyHeader::Forwarded,
        );
        let chain = headers(
            "forwarded",
            &[
                r#"for=203.0.113.9;proto=https, for="[2001:db8::17]:4711""#,
                r#"for="[2001:db8:cafe::1]";by=10.0.0.1"#,
            ],
        );
        assert_eq!(rfc.client(peer("10.0.0.1"), &chain), ip("2001:db8::17"));
        let obfuscated = headers("forwarded", &["for=198.51.100.7, for=_hidden"]);
        assert_eq!(rfc.client(peer("10.0.0.1"), &obfuscated), ip("10.0.0.1"));
        // The proxies set Forwarded: a client's X-Forwarded-For is theirs.
        let forged = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(rfc.client(peer("10.0.0.1"), &forged), ip("10.0.0.1"));
        let xff = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        let forged = headers("forwarded", &["for=203.0.113.9"]);
        assert_eq!(xff.client(peer("10.0.0.1"), &forged), ip("10.0.0.1"));
    }

    #[test]
    fn https_is_what_a_trusted_proxy_says() {
        let lb = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        let https = headers("x-forwarded-proto", &["https"]);
        assert!(lb.https(peer("10.0.0.2"), &https));
        assert!(!lb.https(peer("198.51.100.7"), &https), "not a proxy");
        assert!(!lb.https(peer("10.0.0.2"), &HeaderMap::new()));
        let rfc = proxies(&["10.0.0.0/8"], ProxyHeader::Forwarded);
        let chain = headers(
            "forwarded",
            &["for=198.51.100.7;proto=http, for=10.0.0.3;proto=https"],
        );
        assert!(rfc.https(peer("10.0.0.2"), &chain));
        assert!(!rfc.https(peer("10.0.0.2"), &https), "the other header");
    }

    #[test]
    fn an_ipv4_address_spelled_as_ipv6_is_the_ipv4_address() {
        let lb = proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor);
        let chain = headers("x-forwarded-for", &["::ffff:198.51.100.7"]);
        assert_eq!(
            lb.client(peer("::ffff:10.0.0.2"), &chain),
            ip("198.51.100.7")
        );
    }
}
