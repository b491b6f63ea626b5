//! What keeps one client from exhausting the server for everyone: the client's address (through
//! trusted proxies only), request rates per address, a whole-request deadline, and connection
//! caps in all and per address.
//!
//! Rates are counted in this process (GCRA, `governor`); the rules that decide who gets a place
//! (holds, bookings, proofs) are counted in the database, so they hold across processes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fairslot_core::fhir::gateway::{CANCEL_OPERATION, LOOKUP_OPERATION};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::config::Guard;
use crate::extract::ClientAddress;
use crate::problem::ApiError;

/// The peer of a connection, as the accept loop saw it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Rate limits per client address.
pub struct Limits {
    trusted: Vec<IpNet>,
    requests: DefaultKeyedRateLimiter<IpAddr>,
    proofs: DefaultKeyedRateLimiter<IpAddr>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(guard: &Guard) -> Self {
        Self {
            trusted: guard.trusted_proxies.clone(),
            requests: RateLimiter::keyed(per_minute(guard.ip_requests_per_minute)),
            proofs: RateLimiter::keyed(per_minute(guard.ip_proofs_per_minute)),
        }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
    /// nearest address in `X-Forwarded-For` that is not itself a trusted proxy. A client can
    /// write anything into that header, so only what trusted proxies appended is believed.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        let trusted = |ip: &IpAddr| self.trusted.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            match hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
                Ok(ip) => {
                    client = ip;
                    if !trusted(&ip) {
                        break;
                    }
                }
                // A malformed entry: nothing before it can be believed.
                Err(_) => break,
            }
        }
        client
    }

    /// Whether the peer is a trusted proxy (whose connections carry many clients).
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.trusted.iter().any(|net| net.contains(&peer))
    }

    /// Forgets addresses whose budgets are full again, so the table does not grow for ever.
    pub fn forget_idle(&self) {
        self.requests.retain_recent();
        self.proofs.retain_recent();
    }
}

/// What limits count by: an IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4
/// client) as the IPv4 address it is, and IPv6 by its /64, which is what one subscriber gets.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Routes whose answer depends on a secret the client might be guessing.
fn is_proof_route(route: &str) -> bool {
    route.ends_with("/lookup")
        || route.ends_with("/cancel")
        || route.ends_with("/by-key")
        || route.ends_with(LOOKUP_OPERATION)
        || route.ends_with(CANCEL_OPERATION)
}

/// Middleware of the API: resolves the client's address for the handlers and refuses requests
/// over their address's rate with 429 and `Retry-After`.
pub async fn limit_rates(
    State(limits): State<Arc<Limits>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |p| p.0.ip());
    let address = limits.client_address(peer, request.headers());
    request.extensions_mut().insert(ClientAddress(address));
    let proof = request.method() == Method::POST
        && request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|route| is_proof_route(route.as_str()));
    let key = limit_key(address);
    let mut verdict = limits.requests.check_key(&key);
    if verdict.is_ok() && proof {
        verdict = limits.proofs.check_key(&key);
    }
    if let Err(not_until) = verdict {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let seconds = u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX);
        return ApiError::rate_limited(seconds).into_response();
    }
    next.run(request).await
}

/// Open connections per address; a connection holds a [`ConnectionSlot`] while it lives.
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// Held by a connection; dropping it frees the address's slot.
#[derive(Debug)]
pub struct ConnectionSlot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    /// A slot for one more connection from `ip`, or `None` when it has `max` open.
    pub fn open(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            connections: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// How long a whole request may take, from its first byte to its answer.
pub fn request_timeout(guard: &Guard) -> StdDuration {
    StdDuration::from_secs(u64::from(guard.request_timeout_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn guard(trusted: &[&str]) -> Guard {
        let mut config = crate::Config::for_data_dir(".");
        config.guard.trusted_proxies = trusted.iter().map(|t| t.parse().unwrap()).collect();
        config.guard
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let limits = Limits::new(&guard(&["10.0.0.0/8"]));
        let stranger: IpAddr = "203.0.113.7".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        // A client that writes the header itself is still itself.
        assert_eq!(
            limits.client_address(stranger, &forwarded("1.2.3.4")),
            stranger
        );
        // Through the proxy: the nearest untrusted hop, not what the client wrote before it.
        assert_eq!(
            limits.client_address(proxy, &forwarded("1.2.3.4, 198.51.100.9, 10.9.9.9")),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limits.client_address(proxy, &forwarded("junk, 198.51.100.9")),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(limits.client_address(proxy, &HeaderMap::new()), proxy);
    }

    #[test]
    fn a_dual_stack_socket_sees_ipv4_clients_as_themselves() {
        let limits = Limits::new(&guard(&["10.0.0.0/8"]));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(
            limits.client_address(mapped, &HeaderMap::new()),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        let mapped_proxy: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(limits.is_trusted(mapped_proxy));
        assert_eq!(
            limits.client_address(mapped_proxy, &forwarded("198.51.100.9")),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn limits_count_an_ipv6_subscriber_once() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_ne!(limit_key(a), limit_key(c));
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(limit_key("::ffff:192.0.2.1".parse().unwrap()), v4);
    }

    #[test]
    fn no_proxy_is_trusted_by_default() {
        let limits = Limits::new(&guard(&[]));
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(limits.client_address(peer, &forwarded("9.9.9.9")), peer);
    }

    #[test]
    fn connection_slots_are_counted_and_given_back() {
        let connections = Arc::new(Connections::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = connections.open(ip, 2).unwrap();
        let _b = connections.open(ip, 2).unwrap();
        assert!(connections.open(ip, 2).is_none());
        assert!(connections.open("192.0.2.2".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(connections.open(ip, 2).is_some());
    }
}
