//! Which loopback addresses are the host's in isolated mode.
//!
//! In isolated mode the sandbox has a network namespace of its own with only a
//! loopback interface. A loopback address the policy *names* — matched by an
//! endpoint of any rule or transition about `connect` or `send`, including a
//! pattern such as `*:443` whose address `*` covers every address, loopback too —
//! is the host's: the monitor decides it and, if allowed, connects from its own
//! namespace. Every other loopback address is the sandbox's own: the kernel
//! connects it inside the sandbox (the agent's test servers keep working), the
//! policy is not asked, and nothing outside can be reached that way.
//!
//! This module knows the IR; it does not know whether a run is isolated.

use crate::{Entity, Ir, Matcher, NetAddr, Verb};
use std::net::IpAddr;

/// Is `ip` a loopback address (127/8, `::1`, or 127/8 mapped into IPv6)?
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

impl Ir {
    /// Does some rule or transition about `connect` or `send` name `addr`?
    /// A domain endpoint names the addresses reached as a name it matches: a
    /// loopback address is reached as `localhost` (`domain::implicit_name`).
    pub fn names_endpoint(&self, addr: &NetAddr) -> bool {
        self.names_endpoint_as(addr, None)
    }

    /// [`Ir::names_endpoint`] for `addr` reached as `name` too.
    pub fn names_endpoint_as(&self, addr: &NetAddr, name: Option<&str>) -> bool {
        let implicit = crate::domain::implicit_name(addr);
        let rules = self.rules.iter().map(|r| &r.matcher);
        let events = self.transitions.iter().map(|t| &t.event);
        rules.chain(events).any(|m| match m {
            Matcher::Access {
                verbs,
                entity: Entity::Endpoints(eps),
            } => {
                verbs.iter().any(|v| matches!(v, Verb::Connect | Verb::Send))
                    && eps.iter().any(|e| {
                        e.matches_named(addr, implicit)
                            || name.is_some_and(|n| e.matches_named(addr, Some(n)))
                    })
            }
            _ => false,
        })
    }

    /// In isolated mode, is `addr` the sandbox's own loopback (connected inside
    /// the sandbox, never decided by the policy)? See the module doc. The
    /// sandbox's resolver address ([`crate::domain::RESOLVER`]) always is when
    /// the policy has domain endpoints: the monitor's forwarder answers there.
    pub fn stays_inside(&self, addr: &NetAddr) -> bool {
        self.stays_inside_as(addr, &[])
    }

    /// [`Ir::stays_inside`] for `addr` reached as `names` (the monitor's
    /// resolver returned it for them): a loopback address a domain endpoint
    /// reaches through a name is the host's.
    pub fn stays_inside_as(&self, addr: &NetAddr, names: &[String]) -> bool {
        match addr {
            NetAddr::Inet { ip, port, .. }
                if crate::domain::is_resolver(*ip, *port) && self.has_domains() =>
            {
                true
            }
            NetAddr::Inet { ip, .. } => {
                is_loopback(*ip)
                    && !self.names_endpoint(addr)
                    && !names.iter().any(|n| self.names_endpoint_as(addr, Some(n)))
            }
            _ => false,
        }
    }
}
