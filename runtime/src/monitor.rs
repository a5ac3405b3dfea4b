//! The monitor: the "user-space kernel" that answers what the filter routes to it.
//! It decides with the artifact's IR in the sandbox-wide state, fires transitions
//! on what it itself did, revokes sockets a transition closes, and *emulates* what
//! it allows (see `emulate`), so that nothing it decided can be changed between
//! its check and the kernel's use.

use crate::agent;
use crate::audit::{AuditLog, Record};
use crate::notify::{Listener, Notification, Reply};
use crate::resolve::Asker;
use claw_artifact::Artifact;
use claw_ir::{mediation, Access, Action, Env, Ir, NetAddr, Request, Verb};
use claw_stdlib::SyscallTable;
use serde_json::json;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Workers started up front; more are started whenever all are busy (a blocking
/// emulated call, such as a `connect` or an `open` of a FIFO, never stalls others).
const INITIAL_WORKERS: usize = 1;
const MAX_WORKERS: usize = 512;

/// Why a handler stopped without an answer of its own.
#[derive(Debug)]
pub enum Fail {
    /// Answer with this errno.
    Errno(i32),
    /// The notification is no longer pending (caller died or was interrupted):
    /// nothing must be answered or acted on.
    Gone,
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Fail {
        Fail::Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// What a handler did: a reply to send, or nothing left to send (the syscall was
/// completed by `SECCOMP_ADDFD_FLAG_SEND`).
#[derive(Debug)]
pub enum Answer {
    Reply(Reply),
    Done,
}

impl From<Reply> for Answer {
    fn from(r: Reply) -> Answer {
        Answer::Reply(r)
    }
}

pub type Outcome = Result<Answer, Fail>;

/// A socket the monitor connected for the agent, held so that a transition can shut
/// it down whatever the agent did with its own descriptors.
struct Tracked {
    sock: OwnedFd,
    addr: NetAddr,
    udp: bool,
}

/// State shared by all workers: the sandbox-wide state and the sockets to revoke.
struct Shared {
    state: u32,
    sockets: Vec<Tracked>,
}

/// A decision as the handlers use it.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub action: Action,
}

impl Verdict {
    pub fn allowed(self) -> bool {
        self.action.is_allowing()
    }

    /// The reply for a refusal.
    pub fn refusal(self) -> Reply {
        Reply::Errno(self.refusal_errno())
    }

    /// The errno of a refusal (`EPERM` for a kill, whose caller never sees it).
    pub fn refusal_errno(self) -> i32 {
        match self.action {
            Action::Deny(e) => i32::from(e),
            _ => libc::EPERM,
        }
    }
}

pub struct Monitor {
    pub(crate) ir: Ir,
    pub(crate) env: Env,
    pub(crate) listener: Listener,
    shared: Mutex<Shared>,
    audit: AuditLog,
    idle: AtomicUsize,
    workers: AtomicUsize,
    /// The monitor's `/`, shared with the agent's when the policy can never let it
    /// change its root or mount namespace.
    root: Option<OwnedFd>,
}

/// Syscalls that can give a process another root directory or another view of the
/// mounts. (A new mount namespace from `clone`/`unshare` is a copy of this one; it
/// only differs once one of these changes it.)
const ROOT_CHANGERS: &[&str] = &[
    "chroot",
    "pivot_root",
    "setns",
    "mount",
    "umount2",
    "fsmount",
    "move_mount",
    "open_tree",
    "mount_setattr",
];

/// Is the agent's root always the monitor's? True when the filter refuses every
/// call that could change it, in every state, in the kernel.
fn root_is_fixed(ir: &Ir) -> bool {
    let table = ir.table();
    ROOT_CHANGERS.iter().all(|name| {
        table.by_name(name).is_none_or(|sc| {
            matches!(ir.route(sc.nr), claw_ir::Route::Kernel(k) if k.constant().is_some_and(|a| !a.is_allowing()))
        })
    })
}

impl Monitor {
    pub fn new(artifact: &Artifact, env: Env, listener: Listener, audit: AuditLog) -> Arc<Monitor> {
        Arc::new(Monitor {
            shared: Mutex::new(Shared {
                state: artifact.ir.initial,
                sockets: Vec::new(),
            }),
            ir: artifact.ir.clone(),
            env,
            listener,
            audit,
            idle: AtomicUsize::new(0),
            workers: AtomicUsize::new(0),
            root: root_is_fixed(&artifact.ir)
                .then(|| std::fs::File::open("/").ok().map(OwnedFd::from))
                .flatten(),
        })
    }

    pub(crate) fn table(&self) -> &'static SyscallTable {
        self.ir.table()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the worker pool; returns immediately.
    pub fn start(self: &Arc<Self>) {
        for _ in 0..INITIAL_WORKERS {
            self.spawn_worker();
        }
    }

    fn spawn_worker(self: &Arc<Self>) {
        if self.workers.fetch_add(1, Ordering::SeqCst) >= MAX_WORKERS {
            self.workers.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        self.idle.fetch_add(1, Ordering::SeqCst);
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("claw-monitor".into())
            .stack_size(256 * 1024)
            .spawn(move || me.worker());
        if spawned.is_err() {
            self.idle.fetch_sub(1, Ordering::SeqCst);
            self.workers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn worker(self: Arc<Self>) {
        while let Ok(n) = self.listener.recv() {
            if self.idle.fetch_sub(1, Ordering::SeqCst) == 1 {
                // This was the last idle worker: keep one listening.
                self.spawn_worker();
            }
            let reply = self.handle(&n);
            match reply {
                Ok(Answer::Done) => {}
                Ok(Answer::Reply(r)) => {
                    let _ = self.listener.respond(n.id, r);
                }
                Err(Fail::Errno(e)) => {
                    let _ = self.listener.respond(n.id, Reply::Errno(e));
                }
                Err(Fail::Gone) => {}
            }
            self.idle.fetch_add(1, Ordering::SeqCst);
        }
        self.idle.fetch_sub(1, Ordering::SeqCst);
        self.workers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Answers one notification.
    pub fn handle(&self, n: &Notification) -> Outcome {
        if n.arch != self.ir.arch.audit_arch() {
            // The filter kills foreign architectures; never act on one here.
            return Err(Fail::Errno(libc::ENOSYS));
        }
        let Some(sc) = self.table().by_nr(n.nr) else {
            return self.registers_only(n, "?");
        };
        let name = sc.name;
        match mediation::of(name) {
            None => self.registers_only(n, name),
            Some(m) => crate::emulate::dispatch(self, n, name, m),
        }
    }

    /// A syscall whose decision depends only on its registers and the state: the
    /// kernel may run it (CONTINUE is safe: nothing the agent can rewrite was read).
    fn registers_only(&self, n: &Notification, name: &str) -> Outcome {
        let v = self.judge(n, name, n.nr, &[], || json!({ "registers": n.args }));
        if v.allowed() {
            Ok(Reply::Continue.into())
        } else {
            Ok(v.refusal().into())
        }
    }

    /// The agent asking (its process is looked up when first needed; every handler
    /// checks NOTIF_ID_VALID after what it read).
    pub(crate) fn asker(&self, n: &Notification) -> Asker {
        Asker::new(n.tid).with_root(self.root.as_ref().map(|f| f.as_raw_fd()))
    }

    /// `NOTIF_ID_VALID`: after every read of agent memory or `/proc` entries.
    pub(crate) fn valid(&self, n: &Notification) -> Result<(), Fail> {
        if self.listener.id_valid(n.id) {
            Ok(())
        } else {
            Err(Fail::Gone)
        }
    }

    /// A NUL-terminated path from agent memory, checked.
    pub(crate) fn read_path(&self, n: &Notification, addr: u64) -> Result<Vec<u8>, Fail> {
        let p = agent::read_cstr(n.tid, addr, agent::PATH_MAX)?;
        self.valid(n)?;
        Ok(p)
    }

    /// Decides a request in the current state; if it is allowed, fires the
    /// transition it matches (revoking sockets the new state does not allow) before
    /// returning, so the agent never holds the result of a fact in the old state.
    /// Records the decision.
    pub(crate) fn judge(
        &self,
        n: &Notification,
        name: &str,
        nr: u32,
        accesses: &[Access],
        shown: impl FnOnce() -> serde_json::Value,
    ) -> Verdict {
        self.judge_then(n, name, nr, accesses, shown, |_| {})
    }

    /// How the current state would decide, without acting or recording (to decide
    /// what an error may reveal).
    pub(crate) fn peek(&self, nr: u32, accesses: &[Access]) -> Verdict {
        let state = self.lock().state;
        let req = Request {
            nr,
            args: [0; 6],
            accesses,
        };
        Verdict {
            action: self.ir.decide(state, &req, &self.env).action,
        }
    }

    /// [`Monitor::judge`], and `then` runs under the state lock if allowed (to
    /// register a socket atomically with the decision that allowed it).
    pub(crate) fn judge_then(
        &self,
        n: &Notification,
        name: &str,
        nr: u32,
        accesses: &[Access],
        shown: impl FnOnce() -> serde_json::Value,
        then: impl FnOnce(&mut dyn FnMut(OwnedFd, NetAddr, bool)),
    ) -> Verdict {
        let req = Request {
            nr,
            args: n.args,
            accesses,
        };
        let mut shared = self.lock();
        let before = shared.state;
        let d = self.ir.decide(before, &req, &self.env);
        let mut revoked = Vec::new();
        if d.action.is_allowing() {
            if let Some((to, _)) = self.ir.next_state(before, &req, &self.env) {
                shared.state = to;
                revoked = self.revoke(&mut shared, to);
            }
            let mut add =
                |sock: OwnedFd, addr: NetAddr, udp: bool| shared.sockets.push(Tracked { sock, addr, udp });
            then(&mut add);
        }
        let after = shared.state;
        drop(shared);
        if d.action == Action::Kill {
            // SAFETY: plain syscall. The process is killed; its thread never resumes.
            unsafe {
                libc::kill(agent::tgid_of(n.tid).unwrap_or(n.tid) as i32, libc::SIGKILL);
            }
        }
        if self.audit.enabled() {
            let rule = d.rule.map_or("default", |i| self.ir.rules[i].origin.as_str());
            let tgid = agent::tgid_of(n.tid).unwrap_or(0);
            self.audit.record(
                &Record {
                    time: crate::audit::now(),
                    pid: tgid,
                    tid: n.tid,
                    syscall: name,
                    args: shown(),
                    decision: d.action.to_string(),
                    rule,
                    state_before: &self.ir.states[before as usize],
                    state_after: &self.ir.states[after as usize],
                },
                !d.action.is_allowing(),
            );
            for addr in revoked {
                self.audit.record(
                    &Record {
                        time: crate::audit::now(),
                        pid: tgid,
                        tid: n.tid,
                        syscall: "shutdown",
                        args: json!({ "socket": addr.to_string() }),
                        decision: "revoke".into(),
                        rule: "transition",
                        state_before: &self.ir.states[before as usize],
                        state_after: &self.ir.states[after as usize],
                    },
                    false,
                );
            }
        }
        Verdict { action: d.action }
    }

    /// Does `state` allow talking to `addr` (connect and send)?
    fn allows_peer(&self, state: u32, addr: &NetAddr) -> bool {
        let nr = self.table().by_name("connect").map_or(u32::MAX, |s| s.nr);
        [Verb::Connect, Verb::Send].iter().all(|&verb| {
            let access = [Access::Net {
                verb,
                addr: addr.clone(),
            }];
            let req = Request {
                nr,
                args: [0; 6],
                accesses: &access,
            };
            self.ir.decide(state, &req, &self.env).action.is_allowing()
        })
    }

    /// Shuts down every tracked socket `state` does not allow; returns their peers.
    fn revoke(&self, shared: &mut Shared, state: u32) -> Vec<NetAddr> {
        let mut gone = Vec::new();
        shared.sockets.retain(|t| {
            if self.allows_peer(state, &t.addr) {
                return true;
            }
            shut(t);
            gone.push(t.addr.clone());
            false
        });
        gone
    }

    /// After a `connect` the monitor performed outside the lock: if a transition
    /// happened meanwhile and closed this peer, shut the socket down now.
    pub(crate) fn recheck(&self, sock: &OwnedFd) {
        let mut shared = self.lock();
        let state = shared.state;
        let raw = sock.as_raw_fd();
        let mut i = 0;
        while i < shared.sockets.len() {
            let same = same_socket(shared.sockets[i].sock.as_raw_fd(), raw);
            if same && !self.allows_peer(state, &shared.sockets[i].addr) {
                let t = shared.sockets.swap_remove(i);
                shut(&t);
                continue;
            }
            i += 1;
        }
    }

    /// Shuts down and drops tracked sockets no sandboxed process holds any more, so
    /// a socket the agent closed really closes. `open_inodes` are the inodes of
    /// every socket in the sandbox's descriptor tables. A socket in none of them
    /// may also be *in flight* (passed with `SCM_RIGHTS`, not yet received): were
    /// it only forgotten, it would come back later beyond revocation's reach, so
    /// it is shut down first — closed for good either way (fail closed).
    pub fn forget_closed(&self, open_inodes: &std::collections::HashSet<u64>) {
        let mut shared = self.lock();
        shared.sockets.retain(|t| {
            let held = inode(t.sock.as_raw_fd()).is_some_and(|i| open_inodes.contains(&i));
            if !held {
                shut(t);
            }
            held
        });
    }

    /// Are there tracked sockets (is [`Monitor::forget_closed`] worth running)?
    pub fn tracking(&self) -> bool {
        !self.lock().sockets.is_empty()
    }
}

fn shut(t: &Tracked) {
    // SAFETY: plain syscalls on a descriptor we own.
    unsafe {
        libc::shutdown(t.sock.as_raw_fd(), libc::SHUT_RDWR);
        if t.udp {
            // shutdown() does not stop a connected UDP socket from sending;
            // dissolving the association does (later sends need an address, and
            // those come to the monitor).
            let unspec = libc::sockaddr {
                sa_family: libc::AF_UNSPEC as u16,
                sa_data: [0; 14],
            };
            libc::connect(
                t.sock.as_raw_fd(),
                &unspec,
                std::mem::size_of::<libc::sockaddr>() as u32,
            );
        }
    }
}

fn inode(fd: i32) -> Option<u64> {
    // SAFETY: st is written by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_ino)
}

fn same_socket(a: i32, b: i32) -> bool {
    inode(a).is_some() && inode(a) == inode(b)
}
