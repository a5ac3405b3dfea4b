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
