//! The ClawLess runtime: runs a command under a compiled policy. It reads only the
//! artifact (`out.bin`): the cBPF filter goes to the kernel with a notification
//! listener, the Landlock plan to the kernel, and the IR to the monitor, which
//! decides what the filter routes to it and emulates what it allows.

pub mod agent;
pub mod aliases;
pub mod audit;
pub mod cgroup;
pub mod denials;
pub mod discover;
pub mod dns;
mod emulate;
pub mod envfilter;
pub mod execdirs;
pub(crate) mod fanlisten;
pub mod fusewire;
pub mod inherited;
pub mod isofiles;
pub mod landlock;
pub mod learn;
pub mod monitor;
pub mod namespaces;
pub mod notify;
pub mod paths;
pub mod pidfilter;
pub mod policy_cache;
pub mod resolve;
pub mod sandbox;
pub mod sockaddr;
pub mod tripwire;
pub mod wire;

/// With `CLAWLESS_TRACE_STARTUP` set, says on stderr how long after
/// [`startup_mark`]'s first call (`clawless`'s `main`) the start-up reached
/// `what`: where an isolated start-up's time goes (docs/BENCHMARKS.md).
pub fn startup_mark(what: &str) {
    static T0: std::sync::OnceLock<Option<std::time::Instant>> = std::sync::OnceLock::new();
    let t0 = T0.get_or_init(|| std::env::var_os("CLAWLESS_TRACE_STARTUP").map(|_| std::time::Instant::now()));
    if let Some(t0) = t0 {
        eprintln!(
            "clawless: start-up: {what} at {:.1} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
}
