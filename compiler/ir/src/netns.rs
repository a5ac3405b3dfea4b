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
    pub fn names_endpoint(&self, addr: &NetAddr) -> bool {
        let rules = self.rules.iter().map(|r| &r.matcher);
        let events = self.transitions.iter().map(|t| &t.event);
        rules.chain(events).any(|m| match m {
            Matcher::Access {
                verbs,
                entity: Entity::Endpoints(eps),
            } => {
                verbs.iter().any(|v| matches!(v, Verb::Connect | Verb::Send))
                    && eps.iter().any(|e| e.matches(addr))
            }
            _ => false,
        })
    }

    /// In isolated mode, is `addr` the sandbox's own loopback (connected inside
    /// the sandbox, never decided by the policy)? See the module doc.
    pub fn stays_inside(&self, addr: &NetAddr) -> bool {
        match addr {
            NetAddr::Inet { ip, .. } => is_loopback(*ip) && !self.names_endpoint(addr),
            _ => false,
        }
    }
}
