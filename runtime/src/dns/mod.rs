//! DNS for domain endpoints (docs/language.md, "Domain endpoints"): which names
//! an address is reached as, the monitor's own resolver, and the forwarder that
//! answers the sandbox's queries in isolated mode.
//!
//! - Isolated mode: the sandbox's `/etc/resolv.conf` (a private one, bind-mounted
//!   by our init) names `127.0.0.53`, where sockets our init bound before the
//!   agent existed (so it cannot take the port) are served by the monitor
//!   ([`forwarder`]). A query leaves only if the current state could use the
//!   name (`Ir::forwards`); the answers kept (`Ir::admits_answer`) go in the
//!   [`answers::Answers`] table, which connects consult.
//! - Mediated mode: there is no forwarder (the agent's resolver is its own);
//!   at a connect the monitor resolves the policy's exact names itself and the
//!   address connected must be among their current answers. Wildcards match
//!   nothing there.
//!
//! A request to an address reached as several names is decided once per name,
//! and allowed only if every one is (`claw_ir::domain`).
//!
//! It knows the policy's IR and the table; the wire format is in [`upstream`]
//! and [`forwarder`] (with `hickory-proto`).

pub mod answers;
pub mod forwarder;
pub mod upstream;

use crate::monitor::Monitor;
use claw_ir::{Access, Addr, Entity, Ir, Matcher, NetAddr, Verb};
use hickory_proto::rr::RecordType;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a failed lookup of the monitor's own (mediated mode) is not retried.
const RETRY_AFTER: Duration = Duration::from_secs(10);
/// At most this many names resolved by the monitor for one connect.
const MAX_LOOKUPS: usize = 16;

/// The monitor's DNS state.
pub struct Dns {
    /// The addresses the resolver returned, by name.
    pub answers: answers::Answers,
    /// Where queries are forwarded (`None`: the host has no resolver).
    pub upstream: Option<upstream::Upstream>,
    /// Mediated mode: the monitor resolves exact names itself at connect time.
    pub resolves_itself: bool,
    /// Names whose own lookup failed, and when (mediated mode).
    failed: Mutex<HashMap<String, Instant>>,
}

impl Dns {
    /// The DNS state for a run with this upstream.
    pub fn new(upstream: Option<upstream::Upstream>, resolves_itself: bool) -> Dns {
        Dns {
            answers: answers::Answers::new(answers::Ttl::from_env()),
            upstream,
            resolves_itself,
            failed: Mutex::new(HashMap::new()),
        }
    }

    /// Asks the upstream for `name`'s addresses (A and AAAA) and records the
    /// answers the policy keeps; returns them.
    pub fn resolve(&self, ir: &Ir, name: &str, rtype: RecordType) -> Option<upstream::Answer> {
        let up = self.upstream?;
        let mut a = up.query(name, rtype).ok()?;
        a.addrs.retain(|(ip, _)| ir.admits_answer(name, *ip));
        if ir.domain_matters(name) {
            let now = Instant::now();
            for (ip, ttl) in &a.addrs {
                self.answers.record(name, *ip, *ttl, now);
            }
        }
        Some(a)
    }

    /// Mediated mode: resolves the exact names `state` could connect to that
    /// have no current answer (and did not fail lately).
    fn refresh(&self, ir: &Ir, state: u32) {
        let now = Instant::now();
        for name in exact_names(ir, state).into_iter().take(MAX_LOOKUPS) {
            if !self.answers.addresses(&name, now).is_empty() {
                continue;
            }
            {
                let mut f = self.failed.lock().unwrap_or_else(|e| e.into_inner());
                if f.get(&name).is_some_and(|t| now.duration_since(*t) < RETRY_AFTER) {
                    continue;
                }
                f.retain(|_, t| now.duration_since(*t) < RETRY_AFTER);
            }
            let got: usize = [RecordType::A, RecordType::AAAA]
                .into_iter()
                .filter_map(|t| self.resolve(ir, &name, t))
                .map(|a| a.addrs.len())
                .sum();
            if got == 0 {
                let mut f = self.failed.lock().unwrap_or_else(|e| e.into_inner());
                if f.len() < answers::MAX_ENTRIES {
                    f.insert(name, now);
                }
            }
        }
    }

    /// The names `addr` is reached as now, for `ir` in `state`: unexpired answers
    /// for names some domain endpoint matches, and `localhost` for a loopback
    /// address when an endpoint names it.
    pub fn names_for(&self, ir: &Ir, state: u32, addr: &NetAddr) -> Vec<String> {
        let NetAddr::Inet { ip, .. } = addr else {
            return Vec::new();
        };
        if !ir.has_domains() {
            return Vec::new();
        }
        if self.resolves_itself {
            self.refresh(ir, state);
        }
        let mut names = self.answers.names_for(*ip, Instant::now());
        names.retain(|n| ir.domain_matters(n));
        if let Some(l) = claw_ir::domain::implicit_name(addr) {
            if ir.domain_matters(l) && !names.iter().any(|n| n == l) {
                names.push(l.to_string());
            }
        }
        names.truncate(answers::MAX_NAMES);
        names
    }
}

/// The exact names (not wildcards, not `localhost`) of domain endpoints that
/// `state` could connect or send to.
fn exact_names(ir: &Ir, state: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &ir.rules {
        if let Matcher::Access {
            entity: Entity::Endpoints(eps),
            ..
        } = &r.matcher
        {
            for e in eps {
                if let Addr::Domain(d) = &e.addr {
                    if !d.wildcard
                        && !d.is_localhost()
                        && ir.forwards(state, &d.base)
                        && !out.contains(&d.base)
                    {
                        out.push(d.base.clone());
                    }
                }
            }
        }
    }
    out
}

/// The names a request to `addr` is reached as: what the monitor's resolver
/// returned it for, and for a socket the monitor connected, the names it was
/// connected as (they hold for the connection's life).
pub(crate) fn reached_as(m: &Monitor, addr: &NetAddr, sock: Option<&OwnedFd>) -> Vec<String> {
    if !m.ir.has_domains() {
        return Vec::new(); // no name can matter: no look-up, no lock
    }
    let mut names = match m.dns() {
        Some(d) => d.names_for(&m.ir, m.state(), addr),
        None => Vec::new(),
    };
    if let Some(s) = sock {
        for n in m.peer_names(s, addr) {
            if !names.contains(&n) && names.len() < answers::MAX_NAMES {
                names.push(n);
            }
        }
    }
    names
}

/// The accesses of a network request with `verb` to `addr`: for `connect` and
/// `send`, one per name the address is reached as (each decided; all must
/// allow), or one without a name.
pub(crate) fn accesses(m: &Monitor, verb: Verb, addr: &NetAddr, sock: Option<&OwnedFd>) -> Vec<Access> {
    let names = if matches!(verb, Verb::Connect | Verb::Send) {
        reached_as(m, addr, sock)
    } else {
        Vec::new()
    };
    with_names(verb, addr, names)
}

/// One access per name, or one without.
pub fn with_names(verb: Verb, addr: &NetAddr, names: Vec<String>) -> Vec<Access> {
    if names.is_empty() {
        return vec![Access::Net {
            verb,
            addr: addr.clone(),
            name: None,
        }];
    }
    names
        .into_iter()
        .map(|n| Access::Net {
            verb,
            addr: addr.clone(),
            name: Some(n),
        })
        .collect()
}

/// The names in a request's network accesses (what a tracked socket keeps).
pub fn names_in(accesses: &[Access]) -> Vec<String> {
    accesses
        .iter()
        .filter_map(|a| match a {
            Access::Net { name: Some(n), .. } => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// In isolated mode, does a call to `addr` stay inside the sandbox?
/// (`Ir::stays_inside_as`, with the names the address is reached as.)
pub(crate) fn stays_inside(m: &Monitor, addr: &NetAddr) -> bool {
    if !m.ir.has_domains() {
        return m.ir.stays_inside(addr);
    }
    let names = match m.dns() {
        Some(d) => d.names_for(&m.ir, m.state(), addr),
        None => Vec::new(),
    };
    m.ir.stays_inside_as(addr, &names)
}

/// The domain endpoints of rules in force in `state` about `verb` on
/// `proto`/`port` that the address was not reached as (for the audit record
/// of a refused connect: which names did not resolve to it).
pub fn unmatched_endpoints(ir: &Ir, state: u32, verb: Verb, addr: &NetAddr, names: &[String]) -> Vec<String> {
    let NetAddr::Inet { proto, port, .. } = addr else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in ir
        .rules
        .iter()
        .filter(|r| r.in_state(state) && r.action.is_allowing())
    {
        if let Matcher::Access {
            verbs,
            entity: Entity::Endpoints(eps),
        } = &r.matcher
        {
            if !verbs.contains(&verb) {
                continue;
            }
            for e in eps {
                if let Addr::Domain(d) = &e.addr {
                    let fits = e.proto == *proto && e.ports.0 <= *port && *port <= e.ports.1;
                    if fits && !names.iter().any(|n| d.matches(n)) && out.len() < 16 {
                        out.push(format!("{d} ({})", r.origin));
                    }
                }
            }
        }
    }
    out
}

/// What a run with domain endpoints prepares before the sandbox starts: the
/// private resolv.conf and the socket pair the forwarder's sockets come over.
pub struct Prepared {
    conf: tempfile::NamedTempFile,
    conf_path: std::ffi::CString,
    send: OwnedFd,
    recv: OwnedFd,
}

/// The private resolv.conf: the forwarder, and nothing else.
fn resolv_conf() -> String {
    let (ip, _) = claw_ir::domain::RESOLVER;
    format!("# clawless: the sandbox's resolver (the monitor's forwarder)\nnameserver {ip}\n")
}

impl Prepared {
    /// `None` when the policy has no domain endpoint (the sandbox keeps the
    /// host's resolver configuration; its DNS traffic is decided by address),
    /// unless `learning` (`clawless learn` records the names asked for).
    pub fn new(ir: &Ir, learning: bool) -> Result<Option<Prepared>, String> {
        use std::io::Write as _;
        use std::os::fd::FromRawFd as _;
        use std::os::unix::fs::PermissionsExt as _;
        if !ir.has_domains() && !learning {
            return Ok(None);
        }
        let mut conf = tempfile::Builder::new()
            .prefix("clawless-resolv-")
            .tempfile()
            .map_err(|e| format!("cannot write the sandbox's resolv.conf: {e}"))?;
        conf.write_all(resolv_conf().as_bytes())
            .and_then(|()| {
                conf.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))
            })
            .map_err(|e| format!("cannot write the sandbox's resolv.conf: {e}"))?;
        let conf_path =
            std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(conf.path().as_os_str()))
                .map_err(|_| "the temporary directory's path has a NUL".to_string())?;
        let mut fds = [0i32; 2];
        // SAFETY: fds is valid for two ints.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        } != 0
        {
            return Err(format!("socketpair: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: fresh descriptors, ours.
        let (send, recv) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Some(Prepared {
            conf,
            conf_path,
            send,
            recv,
        }))
    }

    /// What our init needs (see `namespaces::ResolverSetup`).
    pub fn setup(&self) -> crate::namespaces::ResolverSetup {
        use std::os::fd::AsRawFd as _;
        let _ = &self.conf;
        crate::namespaces::ResolverSetup {
            conf: self.conf_path.clone(),
            send: self.send.as_raw_fd(),
            recv: self.recv.as_raw_fd(),
        }
    }
}

/// Gives a new monitor its resolver state, and in isolated mode starts the
/// forwarder on the sockets our init sent. The upstream is
/// `CLAWLESS_DNS_UPSTREAM` or the host's first nameserver.
pub fn attach(
    m: &std::sync::Arc<Monitor>,
    isolation: Option<&crate::namespaces::Isolation>,
) -> Result<(), String> {
    let setup = isolation.and_then(|i| i.resolver.as_ref());
    if !m.ir.has_domains() && setup.is_none() {
        return Ok(());
    }
    let upstream = upstream::Upstream::from_env()?;
    m.set_dns(Dns::new(upstream, setup.is_none()));
    if let Some(s) = setup {
        let (udp, tcp) = crate::namespaces::receive_resolver(s.recv)
            .ok_or_else(|| "the sandbox's resolver sockets did not arrive".to_string())?;
        forwarder::start(m, forwarder::Sockets { udp, tcp });
    }
    Ok(())
}

/// The audit record's arguments of a network call to `addr`: the address, the
/// names it was reached as, and (`unresolved`) the domain endpoints of the
/// current state on its protocol and port that it was not reached as — for a
/// refused connect, the names that did not resolve to it.
pub(crate) fn shown(
    m: &Monitor,
    addr: &Option<NetAddr>,
    accesses: &[Access],
    verb: Verb,
) -> serde_json::Value {
    let mut v = serde_json::json!({ "addr": addr.as_ref().map(ToString::to_string) });
    if !m.ir.has_domains() {
        return v;
    }
    let names = names_in(accesses);
    if !names.is_empty() {
        v["names"] = serde_json::json!(names);
    }
    if let Some(a) = addr {
        let u = unmatched_endpoints(&m.ir, m.state(), verb, a, &names);
        if !u.is_empty() {
            v["unresolved"] = serde_json::json!(u);
        }
    }
    v
}
