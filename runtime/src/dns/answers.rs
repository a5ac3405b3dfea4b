//! The answers the monitor's resolver returned: (name, address, expiry), bounded.
//! A connect to an address is reached as a name when an unexpired entry has it
//! (`claw_ir::domain`). TTLs are clamped to [`Ttl`]'s bounds: a floor because
//! programs connect a moment after resolving (and some cache answers a while),
//! a ceiling so that an answer does not outlive its use by hours.
//!
//! It knows nothing of DNS or the policy: the forwarder decides what to record.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many (name, address) entries in all (a name of a CDN has a few
/// dozen addresses at most; an agent resolving thousands of names only evicts
/// its own oldest answers).
pub const MAX_ENTRIES: usize = 4096;
/// At most this many addresses kept for one name (the newest win).
pub const MAX_PER_NAME: usize = 64;
/// At most this many names returned for one address.
pub const MAX_NAMES: usize = 8;

/// How long an answer is kept, whatever its TTL says.
#[derive(Debug, Clone, Copy)]
pub struct Ttl {
    /// The shortest time an answer is kept.
    pub min: Duration,
    /// The longest.
    pub max: Duration,
}

impl Default for Ttl {
    fn default() -> Ttl {
        Ttl {
            min: Duration::from_secs(60),
            max: Duration::from_secs(3600),
        }
    }
}

impl Ttl {
    /// The default, with the floor from `CLAWLESS_DNS_MIN_TTL` (seconds) when set
    /// (for tests of expiry: the monitor's environment, not the agent's).
    pub fn from_env() -> Ttl {
        let mut t = Ttl::default();
        if let Some(s) = std::env::var("CLAWLESS_DNS_MIN_TTL")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            t.min = Duration::from_secs(s.min(t.max.as_secs()));
        }
        t
    }

    /// How long to keep an answer whose TTL is `ttl` seconds.
    pub fn clamp(&self, ttl: u32) -> Duration {
        Duration::from_secs(u64::from(ttl)).clamp(self.min, self.max)
    }
}

/// The table.
pub struct Answers {
    ttl: Ttl,
    /// name → (address, expiry), each name's list at most [`MAX_PER_NAME`].
    by_name: Mutex<HashMap<String, Vec<(IpAddr, Instant)>>>,
}

/// The address as compared: an IPv4-mapped IPv6 address is its IPv4 address.
fn plain(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Answers {
    /// An empty table keeping answers as `ttl` says.
    pub fn new(ttl: Ttl) -> Answers {
        Answers {
            ttl,
            by_name: Mutex::new(HashMap::new()),
        }
    }

    /// How long answers are kept.
    pub fn ttl(&self) -> Ttl {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(IpAddr, Instant)>>> {
        self.by_name.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `name` resolved to `ip` with `ttl` seconds (clamped), at `now`.
    pub fn record(&self, name: &str, ip: IpAddr, ttl: u32, now: Instant) {
        let until = now + self.ttl.clamp(ttl);
        let ip = plain(ip);
        let mut t = self.lock();
        let total: usize = t.values().map(Vec::len).sum();
        if total >= MAX_ENTRIES && !t.get(name).is_some_and(|v| v.iter().any(|(a, _)| *a == ip)) {
            // Full: drop what expired, then the entry that expires first.
            t.values_mut().for_each(|v| v.retain(|(_, e)| *e > now));
            t.retain(|_, v| !v.is_empty());
            let total: usize = t.values().map(Vec::len).sum();
            if total >= MAX_ENTRIES {
                let first = t
                    .iter()
                    .flat_map(|(n, v)| v.iter().map(move |(a, e)| (*e, n.clone(), *a)))
                    .min();
                if let Some((_, n, a)) = first {
                    if let Some(v) = t.get_mut(&n) {
                        v.retain(|(x, _)| *x != a);
                    }
                }
            }
        }
        let v = t.entry(name.to_string()).or_default();
        match v.iter_mut().find(|(a, _)| *a == ip) {
            Some(e) => e.1 = e.1.max(until),
            None => {
                if v.len() >= MAX_PER_NAME {
                    // The one that expires first makes room.
                    if let Some(i) = (0..v.len()).min_by_key(|i| v[*i].1) {
                        v.swap_remove(i);
                    }
                }
                v.push((ip, until));
            }
        }
    }

    /// The names `ip` is an unexpired answer for at `now` (at most [`MAX_NAMES`],
    /// sorted).
    pub fn names_for(&self, ip: IpAddr, now: Instant) -> Vec<String> {
        let ip = plain(ip);
        let t = self.lock();
        let mut names: Vec<String> = t
            .iter()
            .filter(|(_, v)| v.iter().any(|(a, e)| *a == ip && *e > now))
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names.truncate(MAX_NAMES);
        names
    }

    /// `name`'s unexpired answers at `now`, with the seconds each has left.
    pub fn addresses(&self, name: &str, now: Instant) -> Vec<(IpAddr, u32)> {
        let t = self.lock();
        t.get(name)
            .map(|v| {
                v.iter()
                    .filter(|(_, e)| *e > now)
                    .map(|(a, e)| {
                        (
                            *a,
                            u32::try_from(e.duration_since(now).as_secs()).unwrap_or(u32::MAX),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_and_stay_bounded() {
        let a = Answers::new(Ttl {
            min: Duration::from_secs(1),
            max: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        a.record("api.example.com", ip, 0, t0);
        assert_eq!(a.names_for(ip, t0), vec!["api.example.com".to_string()]);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(a.names_for(mapped, t0).len(), 1, "a mapped address is its IPv4");
        assert!(
            a.names_for(ip, t0 + Duration::from_secs(2)).is_empty(),
            "the floor is 1 s"
        );
        a.record("b.example.com", ip, 1_000_000, t0);
        assert!(!a.names_for(ip, t0 + Duration::from_secs(9)).is_empty());
        assert!(
            a.names_for(ip, t0 + Duration::from_secs(11)).is_empty(),
            "the ceiling is 10 s"
        );
        for i in 0..(MAX_ENTRIES as u32 + 100) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            a.record(&format!("n{}.example.com", i % 500), ip, 5, t0);
        }
        let total: usize = a.lock().values().map(Vec::len).sum();
        assert!(total <= MAX_ENTRIES, "{total}");
    }
}
