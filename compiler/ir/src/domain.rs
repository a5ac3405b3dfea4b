//! Domain endpoints: what a name means for a decision, in one place the monitor,
//! `clawc explain` and the verifier share.
//!
//! A connect to an address is a request *reached as a name* when the monitor's
//! own resolver (its DNS forwarder, or its own lookup in mediated mode) returned
//! that address for the name within its TTL: the name is a fact of the request
//! ([`crate::Access::Net`]'s `name`), established by the monitor. Here:
//!
//! - which answers the resolver keeps ([`Ir::admits_answer`]): an address in a
//!   private, loopback, link-local or otherwise special range ([`is_special`]) is
//!   kept only if the policy names a block containing it, or the name is
//!   `localhost` (answered with loopback only);
//! - which queries leave the sandbox at all ([`Ir::forwards`]): a query for a name
//!   is forwarded only in a state that could allow a connect or send reached as
//!   that name (so a query for `<secret>.attacker.example` after the taint goes
//!   nowhere);
//! - the sandbox's resolver address ([`RESOLVER`]), always the sandbox's own.
//!
//! It knows the IR; it does not know DNS, the wire format or the clock.

use crate::{cidr_contains, Action, Addr, Entity, Ir, Matcher, NetAddr, Proto, Verb};
use std::net::{IpAddr, Ipv4Addr};

/// Where the sandbox's resolver answers in isolated mode (its private
/// `/etc/resolv.conf` says `nameserver 127.0.0.53`): the monitor's forwarder, on
/// UDP and TCP port 53 of the sandbox's own loopback.
pub const RESOLVER: (Ipv4Addr, u16) = (Ipv4Addr::new(127, 0, 0, 53), 53);

/// Is `ip:port` the sandbox's resolver address (also as an IPv4-mapped IPv6)?
pub fn is_resolver(ip: IpAddr, port: u16) -> bool {
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    v4 == Some(RESOLVER.0) && port == RESOLVER.1
}

/// Blocks whose addresses a name's answers may not be unless the policy names
/// them: "this network", private (RFC 1918, unique local), shared (CGNAT),
/// loopback, link-local (cloud metadata services live at 169.254.169.254),
/// multicast, reserved and broadcast, the unspecified and the IPv4-compatible.
/// An answer there is how a name the policy trusts reaches the host's or the
/// LAN's services (DNS rebinding).
pub const SPECIAL: &[(IpAddr, u8)] = &[
    (IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)), 8),
    (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8),
    (IpAddr::V4(Ipv4Addr::new(100, 64, 0, 0)), 10),
    (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
    (IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)), 16),
    (IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 12),
    (IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16),
    (IpAddr::V4(Ipv4Addr::new(224, 0, 0, 0)), 4),
    (IpAddr::V4(Ipv4Addr::new(240, 0, 0, 0)), 4),
    (IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 96),
    (IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 128),
    (
        IpAddr::V6(std::net::Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)),
        7,
    ),
    (
        IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)),
        10,
    ),
    (
        IpAddr::V6(std::net::Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0)),
        8,
    ),
];

/// Is `ip` in a [`SPECIAL`] block (an IPv4-mapped IPv6 address is its IPv4)?
pub fn is_special(ip: IpAddr) -> bool {
    SPECIAL.iter().any(|(net, p)| cidr_contains(*net, *p, ip))
}

/// The name the monitor knows an address by without asking anyone: `localhost`
/// for a loopback address.
pub fn implicit_name(addr: &NetAddr) -> Option<&'static str> {
    match addr {
        NetAddr::Inet { ip, .. } if crate::netns::is_loopback(*ip) => Some(LOCALHOST),
        _ => None,
    }
}

/// The name the monitor answers itself, with loopback addresses only.
pub const LOCALHOST: &str = "localhost";

fn endpoints(m: &Matcher) -> &[crate::Endpoint] {
    match m {
        Matcher::Access {
            entity: Entity::Endpoints(eps),
            ..
        } => eps,
        _ => &[],
    }
}

impl Ir {
    /// Every endpoint some rule or transition names.
    fn all_endpoints(&self) -> impl Iterator<Item = &crate::Endpoint> {
        let rules = self.rules.iter().map(|r| &r.matcher);
        let events = self.transitions.iter().map(|t| &t.event);
        rules.chain(events).flat_map(endpoints)
    }

    /// Does the policy have a domain endpoint (then the sandbox's resolver is
    /// the monitor's forwarder)?
    pub fn has_domains(&self) -> bool {
        self.all_endpoints().any(|e| matches!(e.addr, Addr::Domain(_)))
    }

    /// Does some domain endpoint of the policy match `name` (normalised)? Only
    /// such names' answers are worth recording.
    pub fn domain_matters(&self, name: &str) -> bool {
        self.all_endpoints()
            .any(|e| matches!(&e.addr, Addr::Domain(d) if d.matches(name)))
    }

    /// Does the policy name an address block (not `*`, not a name) that
    /// contains `ip`, in any rule or transition?
    pub fn names_block(&self, ip: IpAddr) -> bool {
        self.all_endpoints()
            .any(|e| matches!(e.addr, Addr::Cidr(net, p) if cidr_contains(net, p, ip)))
    }

    /// May the resolver keep `ip` as an answer for `name` (normalised)? The
    /// name `localhost` has loopback answers only, which it always keeps; any
    /// other name keeps an answer outside the [`SPECIAL`] blocks, and one inside
    /// them only where the policy names a block containing it.
    pub fn admits_answer(&self, name: &str, ip: IpAddr) -> bool {
        if name == LOCALHOST {
            return crate::netns::is_loopback(ip);
        }
        !is_special(ip) || self.names_block(ip)
    }

    /// May a query for `name` (normalised) leave the sandbox in `state`? Only
    /// if a connect or send reached as that name could be allowed there: an
    /// allowing (`allow`, `log`) rule in force about `connect` or `send` has a
    /// domain endpoint matching it, or an `*` endpoint (then every address is
    /// allowed on its ports, and a name tells nothing new), or the default
    /// allows. A state that allows no such connect forwards nothing.
    pub fn forwards(&self, state: u32, name: &str) -> bool {
        if self.default.is_allowing() {
            return true;
        }
        self.rules.iter().any(|r| {
            let Matcher::Access {
                verbs,
                entity: Entity::Endpoints(eps),
            } = &r.matcher
            else {
                return false;
            };
            r.in_state(state)
                && matches!(r.action, Action::Allow | Action::Log)
                && verbs.iter().any(|v| matches!(v, Verb::Connect | Verb::Send))
                && eps.iter().any(|e| {
                    e.proto != Proto::Unix
                        && match &e.addr {
                            Addr::Domain(d) => d.matches(name),
                            Addr::Any => true,
                            _ => false,
                        }
                })
        })
    }
}

/// How a request's name is shown after its address: ` (NAME resolved to it)`,
/// or nothing.
pub fn show_name(name: Option<&str>) -> String {
    name.map(|n| format!(" ({n} resolved to it)")).unwrap_or_default()
}
