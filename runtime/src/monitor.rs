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
use claw_ir::{mediation, Access, Action, Decision, Env, Ir, Matcher, NetAddr, Request, Verb};
use claw_stdlib::SyscallTable;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex};

/// How long `clawless` waits at exit for the audit log to take what is queued.
const AUDIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The most workers the pool grows to (one per handler blocked at once, plus one).
/// Workers block only in calls the monitor cannot tell in advance will block (a
/// slow filesystem, a full socket buffer); what it can tell (see
/// [`Monitor::offload`]) never holds a worker.
const MAX_WORKERS: usize = 4096;

/// Workers started with the pool, beyond the receivers: they exist before the
/// agent can use up the thread limit it shares with the monitor
/// (`RLIMIT_NPROC`), so the pool serves ordinary calls even when no thread can
/// be started any more.
const RESERVE: usize = 6;

/// A worker's stack: handlers are shallow (the deepest is a decision).
const WORKER_STACK: usize = 256 * 1024;

/// Threads that finish a blocking operation (see [`Monitor::offload`]) at once;
/// past this, such an operation is refused with `EAGAIN`.
const MAX_BLOCKED: usize = 8192;

/// A blocked operation's stack: one syscall, a re-check of the state after a
/// `connect`, an answer (only the pages touched are memory).
const BLOCKED_STACK: usize = 128 * 1024;

/// How long a thread that finished a blocking operation waits for another before
/// it ends (see [`Spare`]).
const SPARE_KEEP: std::time::Duration = std::time::Duration::from_secs(2);

/// At most this many such threads wait at once (the others end at once).
const SPARE_MAX: usize = 8;

/// An offloaded operation, ready to run on a thread of its own.
type Job = Box<dyn FnOnce() + Send>;

/// Threads that finished a blocking operation and wait a while ([`SPARE_KEEP`])
/// for the next: a client that connects in a loop (every blocking `connect` is
/// offloaded) reuses one instead of starting a thread per call (measured: a
/// thread start was the largest cost of a connect). Invariant, under the lock:
/// `idle` = threads waiting here - `jobs` queued.
#[derive(Default)]
struct Spare {
    jobs: std::collections::VecDeque<Job>,
    idle: usize,
}

/// How often the watchdog looks for blocked operations whose caller is gone.
const SWEEP: std::time::Duration = std::time::Duration::from_millis(100);

/// The signal that interrupts a blocked operation whose caller is gone (a
/// handler that does nothing, without `SA_RESTART`, so the syscall returns
/// `EINTR`). Not one `clawless` forwards or glibc reserves.
fn interrupt_signal() -> i32 {
    libc::SIGRTMAX() - 1
}

extern "C" fn interrupted(_: libc::c_int) {}

/// The kernel's "interrupted, restart if the handler has `SA_RESTART`" value
/// (`include/linux/errno.h`), which it gives a notified call interrupted before
/// its answer; never seen by a program while a signal is pending.
const ERESTARTSYS: i32 = 512;

/// How long every worker may be busy, with no one waiting for the next
/// notification, before the watchdog puts another worker on it (once it noticed).
const STALL_TICK: std::time::Duration = std::time::Duration::from_millis(1);

/// The watchdog's longest sleep, while some worker waits for notifications.
const QUIET_TICK: std::time::Duration = std::time::Duration::from_millis(32);

/// Workers waiting in `SECCOMP_IOCTL_NOTIF_RECV` at once (see [`Turn`]). Two, so
/// that the next notification is taken while the previous worker still waits for
/// its `ADDFD` to complete; more only add wake-ups (measured: 1 halves the
/// throughput of one thread's opens, 3 is slower than 2 on a build).
const RECEIVERS: usize = 2;

/// The worker pool's turns at `SECCOMP_IOCTL_NOTIF_RECV`. The kernel wakes
/// *every* worker waiting there on each notification (and again when one takes
/// it), which on a build cost more than the handling; so only [`RECEIVERS`]
/// workers wait there. Having received, a worker gives its turn up and handles
/// the notification; done, it takes a turn back if one is free (no wake-up
/// needed), or waits idle. If no worker waits in `recv` for a while (every worker
/// busy: a slow filesystem, a one-step open of a FIFO...), the watchdog wakes an
/// idle worker or starts one, so a blocked call never stalls the others for long.
/// Calls known to wait for the agent never hold a worker (see
/// [`Monitor::offload`]).
/// An offloaded operation still waiting (see [`Monitor::offload`]).
#[derive(Clone, Copy)]
struct Blocked {
    /// The thread performing it, which the sweep interrupts.
    thread: libc::pthread_t,
    /// The agent's thread whose call it is.
    tid: u32,
    /// Interrupted because a signal handler of the agent waits to run.
    for_signal: bool,
}

#[derive(Default)]
struct Turn {
    /// A worker is waiting in `recv`.
    taken: usize,
    /// How many times a worker took the turn (for the watchdog).
    takes: u64,
    /// Workers waiting for the turn.
    idle: usize,
    /// Workers alive.
    workers: usize,
    /// No process uses the filter any more: nothing will ever arrive.
    closed: bool,
}

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
    /// Send this reply.
    Reply(Reply),
    /// The call was already completed; send nothing.
    Done,
}

impl From<Reply> for Answer {
    fn from(r: Reply) -> Answer {
        Answer::Reply(r)
    }
}

/// What a handler returns: an answer, or why it failed.
pub type Outcome = Result<Answer, Fail>;

/// A socket the monitor connected for the agent, held so that a transition can shut
/// it down whatever the agent did with its own descriptors.
struct Tracked {
    sock: OwnedFd,
    addr: NetAddr,
    udp: bool,
    /// The socket's inode (fixed for its life), to find it without a syscall.
    ino: u64,
    /// The names it was connected as (`crate::dns`): they hold for its life.
    names: Vec<String>,
}

impl Tracked {
    fn new(sock: OwnedFd, addr: NetAddr, udp: bool, names: Vec<String>) -> Tracked {
        let ino = inode(sock.as_raw_fd()).unwrap_or(0);
        Tracked {
            sock,
            addr,
            udp,
            ino,
            names,
        }
    }
}

/// State shared by all workers: the sandbox-wide state, the sockets to revoke and
/// the decisions already made.
struct Shared {
    state: u32,
    /// How many transitions have fired: a socket registered when this was `e`
    /// has been through a revocation since only if it is no longer `e` (see
    /// [`Monitor::recheck`]).
    epoch: u64,
    sockets: Vec<Tracked>,
    decided: DecisionCache,
}

/// What the IR answered, by state and request. The IR is a pure function of the
/// state, the request and the (fixed) environment, and agents ask the same
/// questions over and over (a build opens the same headers thousands of times), so
/// the answer is remembered. Only for requests whose syscall no syscall-level rule
/// or transition mentions: their registers (pointers, which differ every call)
/// then cannot change the answer and are left out of the key.
struct DecisionCache {
    /// By (state, syscall), then by the accesses (looked up as a slice: a hit
    /// allocates nothing).
    answers: HashMap<(u32, u32), HashMap<Vec<Access>, Decided>>,
    /// How many answers are held, over all (state, syscall).
    held: usize,
    /// Syscalls whose registers can change a decision.
    uncacheable: HashSet<u32>,
}

/// A decision and the transition it would fire if carried out.
type Decided = (Decision, Option<(u32, usize)>);

/// Enough for every header of a large build; when full, it starts over.
const CACHED_DECISIONS: usize = 16_384;

/// Requests with more accesses than this are decided afresh every time.
const CACHED_ACCESSES: usize = 8;

impl DecisionCache {
    fn new(ir: &Ir) -> DecisionCache {
        let rules = ir.rules.iter().map(|r| &r.matcher);
        let events = ir.transitions.iter().map(|t| &t.event);
        let uncacheable = rules
            .chain(events)
            .filter_map(|m| match m {
                Matcher::Syscall { nr, .. } => Some(*nr),
                Matcher::Access { .. } => None,
            })
            .collect();
        DecisionCache {
            answers: HashMap::new(),
            held: 0,
            uncacheable,
        }
    }

    /// The IR's decision on `req` in `state` and the transition it fires, from the
    /// cache when the registers cannot matter.
    fn decide(&mut self, ir: &Ir, env: &Env, state: u32, req: &Request<'_>) -> Decided {
        let compute = || (ir.decide(state, req, env), ir.next_state(state, req, env));
        // A request with many accesses (a directory that moves: one read per path
        // below it) is rare and would make one entry as large as the subtree.
        if req.accesses.is_empty()
            || req.accesses.len() > CACHED_ACCESSES
            || self.uncacheable.contains(&req.nr)
        {
            return compute();
        }
        if let Some(e) = self
            .answers
            .get(&(state, req.nr))
            .and_then(|m| m.get(req.accesses))
        {
            return *e;
        }
        let e = compute();
        if self.held >= CACHED_DECISIONS {
            self.answers.clear();
            self.held = 0;
        }
        self.answers
            .entry((state, req.nr))
            .or_default()
            .insert(req.accesses.to_vec(), e);
        self.held += 1;
        e
    }
}

/// A decision as the handlers use it.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    /// The IR's action.
    pub action: Action,
    /// The transitions fired before this decision, not counting one it fired
    /// itself (see [`Monitor::recheck`]).
    pub(crate) epoch: u64,
}

impl Verdict {
    /// Does the call happen?
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

/// The monitor: the IR, the current state, and what the workers that decide and
/// emulate notified calls share.
pub struct Monitor {
    pub(crate) ir: Ir,
    pub(crate) env: Env,
    pub(crate) listener: Listener,
    shared: Mutex<Shared>,
    audit: AuditLog,
    turn: Mutex<Turn>,
    /// Signalled by the watchdog when the turn is free and every worker busy.
    free: Condvar,
    /// The agent's `/` (in its own mount namespace), opened once when the policy
    /// can never let it change its root or mount namespace.
    root: Option<OwnedFd>,
    /// This monitor, for the threads [`Monitor::offload`] starts.
    me: std::sync::OnceLock<std::sync::Weak<Monitor>>,
    /// Operations handed to their own thread, not yet answered.
    blocked: std::sync::atomic::AtomicUsize,
    /// Those threads while they wait, by notification.
    waiting: Mutex<HashMap<u64, Blocked>>,
    /// Those threads between operations, and the operations handed to them.
    spare: Mutex<Spare>,
    /// Signalled when an operation is queued in `spare`.
    spare_queued: Condvar,
    /// Set once every worker was seen busy while one was in a one-step open
    /// (see [`Monitor::opening_plainly`]): from then on opens take the general
    /// path, which sees what it opens before opening it.
    careful: std::sync::atomic::AtomicBool,
    /// Workers inside a one-step open.
    plain_opens: std::sync::atomic::AtomicUsize,
    /// Secrets with more than one name since before the session.
    pub(crate) aliases: crate::aliases::Aliases,
    /// How the agent's `/proc` relates to ours (isolated: its own pid namespace).
    view: crate::resolve::View,
    /// The policy's filter, when the logging filter is installed in its place
    /// (see `crate::denials`).
    kernel_filter: std::sync::OnceLock<(Vec<claw_bpf::Insn>, bool)>,
    /// The last call a `kill` ended a process for.
    killed: Mutex<Option<crate::denials::Killed>>,
    /// Isolated files: the tripwires a name the agent creates may join.
    pub(crate) tripwires: std::sync::OnceLock<Arc<crate::tripwire::Tripwires>>,
    /// The resolver state for domain endpoints (see `crate::dns`).
    dns: std::sync::OnceLock<crate::dns::Dns>,
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
    /// `agent`: the sandboxed process (its pid here), whose root absolute paths
    /// are resolved from; `view`: whether it has a `/proc` of its own;
    /// `aliases`: the session's secret names ([`crate::aliases::Aliases::find`]).
    pub fn new(
        artifact: &Artifact,
        env: Env,
        listener: Listener,
        audit: AuditLog,
        agent: u32,
        view: crate::resolve::View,
        aliases: crate::aliases::Aliases,
    ) -> Arc<Monitor> {
        Monitor::with_ir(&artifact.ir, env, listener, audit, agent, view, aliases)
    }

    /// [`Monitor::new`] from the IR alone.
    fn with_ir(
        ir: &Ir,
        env: Env,
        listener: Listener,
        audit: AuditLog,
        agent: u32,
        view: crate::resolve::View,
        aliases: crate::aliases::Aliases,
    ) -> Arc<Monitor> {
        Arc::new(Monitor {
            aliases,
            shared: Mutex::new(Shared {
                state: ir.initial,
                epoch: 0,
                sockets: Vec::new(),
                decided: DecisionCache::new(ir),
            }),
            ir: ir.clone(),
            env,
            listener,
            audit,
            turn: Mutex::new(Turn::default()),
            free: Condvar::new(),
            root: root_is_fixed(ir)
                .then(|| {
                    crate::resolve::openat2(
                        libc::AT_FDCWD,
                        format!("/proc/{agent}/root").as_bytes(),
                        (libc::O_PATH | libc::O_DIRECTORY) as u64,
                        0,
                        0,
                    )
                    .ok()
                })
                .flatten(),
            me: std::sync::OnceLock::new(),
            blocked: std::sync::atomic::AtomicUsize::new(0),
            waiting: Mutex::new(HashMap::new()),
            spare: Mutex::new(Spare::default()),
            spare_queued: Condvar::new(),
            careful: std::sync::atomic::AtomicBool::new(false),
            plain_opens: std::sync::atomic::AtomicUsize::new(0),
            view,
            kernel_filter: std::sync::OnceLock::new(),
            killed: Mutex::new(None),
            tripwires: std::sync::OnceLock::new(),
            dns: std::sync::OnceLock::new(),
        })
    }

    /// The logging filter is installed: calls the policy's filter `prog` refuses
    /// come here, to be reported and answered as `prog` answers them. Before
    /// [`Monitor::start`]. `learn`: the learning filter is installed instead
    /// (every call the policy allows comes here too, to be recorded).
    pub fn set_kernel_filter(&self, prog: Vec<claw_bpf::Insn>, learn: bool) {
        let _ = self.kernel_filter.set((prog, learn));
    }

    /// Isolated files: names the monitor creates or renames for the agent that
    /// match a secret become tripwires before it answers. Before [`Monitor::start`].
    pub fn set_tripwires(&self, t: Arc<crate::tripwire::Tripwires>) {
        let _ = self.tripwires.set(t);
    }

    /// Gives the monitor its resolver state (before [`Monitor::start`]).
    pub fn set_dns(&self, dns: crate::dns::Dns) {
        let _ = self.dns.set(dns);
    }

    pub(crate) fn dns(&self) -> Option<&crate::dns::Dns> {
        self.dns.get()
    }

    /// The names a tracked socket (the same as `sock`) to `addr` was connected as.
    pub(crate) fn peer_names(&self, sock: &OwnedFd, addr: &NetAddr) -> Vec<String> {
        let ino = inode(sock.as_raw_fd()).unwrap_or(0);
        let shared = self.lock();
        shared
            .sockets
            .iter()
            .find(|t| t.addr == *addr && !t.names.is_empty() && t.ino == ino)
            .map(|t| t.names.clone())
            .unwrap_or_default()
    }

    /// The current state.
    pub(crate) fn state(&self) -> u32 {
        self.lock().state
    }

    pub(crate) fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub(crate) fn note_kill(&self, k: crate::denials::Killed) {
        *self.killed.lock().unwrap_or_else(|e| e.into_inner()) = Some(k);
    }

    /// The last call a `kill` ended a process of the sandbox for.
    pub fn killed(&self) -> Option<crate::denials::Killed> {
        self.killed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Does the sandbox have a network namespace of its own (isolated mode)?
    /// Then only sockets the monitor made reach outside (emulate/outside.rs).
    pub(crate) fn isolated(&self) -> bool {
        self.view == crate::resolve::View::Namespace
    }

    pub(crate) fn table(&self) -> &'static SyscallTable {
        self.ir.table()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the worker pool and its watchdog; returns immediately.
    pub fn start(self: &Arc<Self>) {
        let _ = self.me.set(Arc::downgrade(self));
        // SAFETY: a sigaction initialised here, for a handler that does nothing.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = interrupted as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(interrupt_signal(), &sa, std::ptr::null_mut());
        }
        for _ in 0..RECEIVERS + RESERVE {
            self.spawn_worker();
        }
        let me = Arc::clone(self);
        let _ = std::thread::Builder::new()
            .name("claw-watchdog".into())
            .stack_size(64 * 1024)
            .spawn(move || me.watchdog());
    }

    fn turn(&self) -> std::sync::MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn spawn_worker(self: &Arc<Self>) {
        {
            let mut t = self.turn();
            if t.workers >= MAX_WORKERS {
                return;
            }
            t.workers += 1;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("claw-monitor".into())
            .stack_size(WORKER_STACK)
            .spawn(move || me.worker());
        if spawned.is_err() {
            self.turn().workers -= 1;
        }
    }

    /// Waits until this worker has the turn at `recv` (see [`Turn`]).
    fn take_turn(&self) {
        // Idle workers are woken only by the watchdog; one that finds the turn
        // taken again (its holder came back first) goes back to waiting.
        let mut t = self.turn();
        t.idle += 1;
        while t.taken >= RECEIVERS {
            t = self.free.wait(t).unwrap_or_else(|e| e.into_inner());
        }
        t.idle -= 1;
        t.taken += 1;
        t.takes += 1;
    }

    fn worker(self: Arc<Self>) {
        loop {
            self.take_turn();
            let received = self.listener.recv();
            let mut t = self.turn();
            t.taken -= 1;
            let Ok(n) = received else {
                t.closed = true;
                break;
            };
            drop(t);
            let reply = self.handle(&n);
            self.answer(n.id, reply);
        }
        self.turn().workers -= 1;
    }

    fn answer(&self, id: u64, reply: Outcome) {
        match reply {
            Ok(Answer::Done) => {}
            Ok(Answer::Reply(r)) => {
                let _ = self.listener.respond(id, r);
            }
            Err(Fail::Errno(e)) => {
                let _ = self.listener.respond(id, Reply::Errno(e));
            }
            Err(Fail::Gone) => {}
        }
    }

    /// Finishes a decided operation that may block for as long as the agent
    /// wants (opening a FIFO or a device, a blocking `connect`, a send into a
    /// full buffer) on a thread of its
    /// own, which answers the notification when it is done; the worker goes back
    /// to `recv` at once. So however many such calls the agent makes, they never
    /// hold the workers that answer everything else. If no thread can be started
    /// (the agent used up the thread limit) or [`MAX_BLOCKED`] are waiting
    /// already, the call is refused with `EAGAIN`, as the kernel refuses what it
    /// has no resources for; ordinary calls go on being served.
    pub(crate) fn offload(
        &self,
        n: &Notification,
        job: impl FnOnce(&Monitor) -> Outcome + Send + 'static,
    ) -> Outcome {
        use std::sync::atomic::Ordering;
        let Some(me) = self.me.get().and_then(std::sync::Weak::upgrade) else {
            // No pool (a monitor used without `start`): nothing to protect.
            return job(self);
        };
        if self.blocked.fetch_add(1, Ordering::Relaxed) >= MAX_BLOCKED {
            self.blocked.fetch_sub(1, Ordering::Relaxed);
            return Err(Fail::Errno(libc::EAGAIN));
        }
        let (id, tid) = (n.id, n.tid);
        let runner = Arc::clone(&me);
        let job: Job = Box::new(move || {
            // SAFETY: a sigset_t initialised by sigemptyset; plain calls. (A
            // thread reused after `answering` had the signal blocked; one left
            // pending from its last operation is taken here, before this one.)
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, interrupt_signal());
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                runner.waiting_list().insert(
                    id,
                    Blocked {
                        thread: libc::pthread_self(),
                        tid,
                        for_signal: false,
                    },
                );
            }
            let mut r = job(&runner);
            let left = runner.waiting_list().remove(&id);
            if matches!(r, Err(Fail::Errno(libc::EINTR))) && left.is_some_and(|b| b.for_signal) {
                // Broken off so that the agent's handler runs: what the kernel
                // answers for an interrupted wait, so the call is restarted
                // after the handler when it has SA_RESTART, or fails with EINTR
                // when not. Without the signal still pending that value would
                // reach the agent: EINTR then.
                if agent::handler_pending(tid) {
                    r = Err(Fail::Errno(ERESTARTSYS));
                }
            }
            runner.answer(id, r);
            runner.blocked.fetch_sub(1, Ordering::Relaxed);
        });
        {
            let mut spare = self.spare_list();
            if spare.idle > 0 {
                spare.idle -= 1;
                spare.jobs.push_back(job);
                drop(spare);
                self.spare_queued.notify_one();
                return Ok(Answer::Done);
            }
        }
        let spawned = std::thread::Builder::new()
            .name("claw-blocked".into())
            .stack_size(BLOCKED_STACK)
            .spawn(move || {
                job();
                me.spare_thread();
            });
        match spawned {
            Ok(_) => Ok(Answer::Done),
            Err(_) => {
                self.blocked.fetch_sub(1, Ordering::Relaxed);
                Err(Fail::Errno(libc::EAGAIN))
            }
        }
    }

    fn spare_list(&self) -> std::sync::MutexGuard<'_, Spare> {
        self.spare.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A thread of [`Monitor::offload`] after its operation: runs the next ones
    /// queued for it, and ends once none came for [`SPARE_KEEP`].
    fn spare_thread(&self) {
        loop {
            let mut spare = self.spare_list();
            if spare.idle >= SPARE_MAX {
                return;
            }
            spare.idle += 1;
            drop(spare);
            // Waiting for an operation, not holding one: named apart from the
            // threads that do (tests count those).
            set_thread_name(c"claw-spare");
            let mut spare = self.spare_list();
            let until = std::time::Instant::now() + SPARE_KEEP;
            let job = loop {
                if let Some(j) = spare.jobs.pop_front() {
                    break Some(j);
                }
                let left = until.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    spare.idle -= 1;
                    break None;
                }
                spare = self
                    .spare_queued
                    .wait_timeout(spare, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            };
            drop(spare);
            match job {
                Some(j) => {
                    set_thread_name(c"claw-blocked");
                    j();
                }
                None => return,
            }
        }
    }

    /// Called by an offloaded job once its waiting is over, before it answers
    /// with `SECCOMP_ADDFD_FLAG_SEND`: from then on it must not be interrupted.
    /// Once a SEND is queued the kernel marks the notification replied, so
    /// `NOTIF_ID_VALID` fails and the sweep would take it for abandoned; a signal
    /// then breaks the `ADDFD` off before the agent installed the descriptor, and
    /// the kernel completes the agent's syscall with 0 and no descriptor (a shell
    /// then duplicates its stdin where it meant `/dev/null`). The signal is blocked
    /// first, so one already sent stays pending, then the job leaves the list.
    pub(crate) fn answering(&self, id: u64) {
        // SAFETY: a sigset_t initialised by sigemptyset; plain calls.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, interrupt_signal());
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        self.waiting_list().remove(&id);
    }

    fn waiting_list(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Blocked>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Interrupts every blocked operation whose notification is gone (its caller
    /// was killed), so that such threads never pile up, and every one whose
    /// caller has a signal handler waiting to run: the agent's filter waits
    /// killably once a notification is received (`WAIT_KILLABLE_RECV`, see
    /// `sandbox`), so only the monitor can break a blocked call off for a
    /// handler, as the kernel would (the job then answers `ERESTARTSYS`).
    /// Signalled again at every sweep until it is out (a signal that came just
    /// before its syscall interrupted nothing). The agents' `/proc` status is
    /// read without the list's lock, which offloading takes.
    fn sweep_abandoned(&self) {
        let waiting: Vec<(u64, u32)> = self.waiting_list().iter().map(|(&id, b)| (id, b.tid)).collect();
        let mut stop = Vec::new();
        for (id, tid) in waiting {
            if !self.listener.id_valid(id) {
                stop.push((id, false));
            } else if agent::handler_pending(tid) {
                stop.push((id, true));
            }
        }
        let mut waiting = self.waiting_list();
        for (id, for_signal) in stop {
            if let Some(b) = waiting.get_mut(&id) {
                b.for_signal |= for_signal;
                // SAFETY: the thread is alive: it leaves the list (under this
                // lock) before it ends.
                unsafe {
                    libc::pthread_kill(b.thread, interrupt_signal());
                }
            }
        }
    }

    /// Has a one-step open been seen blocking (see `careful`)?
    pub(crate) fn careful(&self) -> bool {
        self.careful.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs the open of `emulate::fs::open_plain`, which opens before it can
    /// see that it opens a FIFO (and then waits for the other end): counted, so
    /// that the watchdog can tell that it is what holds the workers.
    pub(crate) fn opening_plainly<T>(&self, open: impl FnOnce() -> T) -> T {
        use std::sync::atomic::Ordering;
        self.plain_opens.fetch_add(1, Ordering::Relaxed);
        let r = open();
        self.plain_opens.fetch_sub(1, Ordering::Relaxed);
        r
    }

    /// Looks at the pool now and then (every [`QUIET_TICK`] at most, backing off
    /// while some worker waits in `recv`, the usual case). When none does, it looks
    /// again a [`STALL_TICK`] later: if still none does and none has since taken
    /// a turn, every worker is busy (blocked on a slow filesystem, a one-step
    /// open of a FIFO...), and it wakes an idle worker or starts one. Every
    /// [`SWEEP`] it also interrupts blocked operations whose caller is gone.
    fn watchdog(self: Arc<Self>) {
        let mut last_takes = u64::MAX;
        let mut tick = STALL_TICK;
        let mut suspect = false;
        let mut swept = std::time::Instant::now();
        loop {
            std::thread::sleep(tick);
            if swept.elapsed() >= SWEEP {
                swept = std::time::Instant::now();
                self.sweep_abandoned();
            }
            let t = self.turn();
            if t.closed {
                return;
            }
            let unchanged = t.takes == last_takes;
            last_takes = t.takes;
            if t.taken > 0 {
                suspect = false;
                tick = (tick * 2).min(QUIET_TICK);
                continue;
            }
            tick = STALL_TICK;
            if !(suspect && unchanged) {
                suspect = true;
                continue;
            }
            suspect = false;
            if self.plain_opens.load(std::sync::atomic::Ordering::Relaxed) > 0 {
                self.careful.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if t.idle > 0 {
                self.free.notify_one();
            } else {
                drop(t);
                self.spawn_worker();
            }
        }
    }

    /// Answers one notification.
    pub fn handle(&self, n: &Notification) -> Outcome {
        if let Some((prog, learn)) = self.kernel_filter.get() {
            if let Some(o) = crate::denials::kernel_decided(self, prog, *learn, n) {
                return o;
            }
        }
        self.handle_mediated(n)
    }

    /// [`Monitor::handle`] after the logging or learning filter's own answers.
    pub(crate) fn handle_mediated(&self, n: &Notification) -> Outcome {
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
        let v = self.decide(n, name, n.nr, &[], || json!({ "registers": n.args }));
        if v.allowed() {
            Ok(Reply::Continue.into())
        } else {
            Ok(v.refusal().into())
        }
    }

    /// The agent asking (its process is looked up when first needed; every handler
    /// checks NOTIF_ID_VALID after what it read).
    pub(crate) fn asker(&self, n: &Notification) -> Asker {
        Asker::new(n.tid)
            .with_root(self.root.as_ref().map(|f| f.as_raw_fd()))
            .with_view(self.view)
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
    pub(crate) fn decide(
        &self,
        n: &Notification,
        name: &str,
        nr: u32,
        accesses: &[Access],
        shown: impl FnOnce() -> serde_json::Value,
    ) -> Verdict {
        self.decide_then(n, name, nr, accesses, shown, |_| {})
    }

    /// Decides an open the kernel is holding for a tripwire (a fanotify event or
    /// a FUSE `OPEN` request of thread `tid`): as an `openat` with `flags` that
    /// makes `accesses`, firing the transition before the caller answers.
    pub(crate) fn decide_tripwire_open(
        &self,
        tid: u32,
        flags: u64,
        accesses: &[Access],
        shown: impl FnOnce() -> serde_json::Value,
    ) -> Verdict {
        let nr = self.table().by_name("openat").map_or(0, |s| s.nr);
        let n = Notification {
            id: 0,
            tid,
            nr,
            arch: self.ir.arch.audit_arch(),
            args: [libc::AT_FDCWD as u64, 0, flags, 0, 0, 0],
            ip: 0,
        };
        self.decide(&n, "openat", nr, accesses, shown)
    }

    /// How the current state would decide, without acting or recording (to decide
    /// what an error may reveal).
    pub(crate) fn peek(&self, nr: u32, accesses: &[Access]) -> Verdict {
        let mut shared = self.lock();
        let req = Request {
            nr,
            args: [0; 6],
            accesses,
        };
        let state = shared.state;
        Verdict {
            action: shared.decided.decide(&self.ir, &self.env, state, &req).0.action,
            epoch: shared.epoch,
        }
    }

    /// [`Monitor::decide`], and `then` runs under the state lock if allowed (to
    /// register a socket atomically with the decision that allowed it).
    pub(crate) fn decide_then(
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
        // Before the transition this decision fires, if any: a socket it
        // allows is registered after that revocation, so its recheck must
        // decide again in the new state.
        let epoch = shared.epoch;
        let (d, next) = shared.decided.decide(&self.ir, &self.env, before, &req);
        let mut revoked = Vec::new();
        if d.action.is_allowing() {
            if let Some((to, _)) = next {
                shared.state = to;
                shared.epoch += 1;
                revoked = self.revoke(&mut shared, to);
            }
            let names = crate::dns::names_in(accesses);
            let mut add = |sock: OwnedFd, addr: NetAddr, udp: bool| {
                shared.sockets.push(Tracked::new(sock, addr, udp, names.clone()))
            };
            then(&mut add);
        }
        let after = shared.state;
        drop(shared);
        let rule = d.rule.map_or("default", |i| self.ir.rules[i].origin.as_str());
        if before != after && self.audit.shows_denials() {
            let tgid = agent::tgid_of(n.tid).unwrap_or(0);
            let event = next.map(|(_, t)| &self.ir.transitions[t].event);
            let access =
                event.and_then(|e| accesses.iter().find(|a| claw_ir::matches_access(e, a, &self.env)));
            self.audit.say(crate::denials::transition_line(
                &self.ir.states[before as usize],
                &self.ir.states[after as usize],
                access,
                name,
                tgid,
            ));
        }
        if d.action == Action::Kill {
            self.note_kill(crate::denials::Killed {
                tgid: agent::tgid_of(n.tid).unwrap_or(n.tid),
                syscall: name.to_string(),
                rule: rule.to_string(),
            });
            // SAFETY: plain syscall. The process is killed; its thread never resumes.
            unsafe {
                libc::kill(agent::tgid_of(n.tid).unwrap_or(n.tid) as i32, libc::SIGKILL);
            }
        }
        if self.audit.enabled() {
            let tgid = agent::tgid_of(n.tid).unwrap_or(0);
            let denied = !d.action.is_allowing();
            let hint = denied.then(|| crate::denials::hint(name, accesses, rule));
            self.audit.record_hinted(
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
                denied,
                hint.as_deref(),
                accesses,
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
        Verdict {
            action: d.action,
            epoch,
        }
    }

    /// Does `state` allow talking to `addr`? A connected socket may exchange data
    /// with its peer as long as `connect` to it is allowed ("connect means talk",
    /// docs/language.md); `send` is for datagrams addressed without connecting.
    /// `names`: what the socket was connected as (each must still be allowed).
    fn allows_peer(&self, state: u32, addr: &NetAddr, names: &[String]) -> bool {
        let nr = self.table().by_name("connect").map_or(u32::MAX, |s| s.nr);
        let access = crate::dns::with_names(Verb::Connect, addr, names.to_vec());
        let req = Request {
            nr,
            args: [0; 6],
            accesses: &access,
        };
        self.ir.decide(state, &req, &self.env).action.is_allowing()
    }

    /// Shuts down every tracked socket `state` does not allow; returns their peers.
    fn revoke(&self, shared: &mut Shared, state: u32) -> Vec<NetAddr> {
        let mut gone = Vec::new();
        shared.sockets.retain(|t| {
            if self.allows_peer(state, &t.addr, &t.names) {
                return true;
            }
            shut(t);
            gone.push(t.addr.clone());
            false
        });
        gone
    }

    /// Tracks the sockets `clawless` inherited (see [`crate::inherited`]), shutting
    /// down at once those whose peer the initial state does not allow; returns
    /// the peers shut down. A unix socket at standard input, output or error
    /// whose peer no rule or transition about `connect` or `send` names is the
    /// launcher's channel (journald's stdout stream), left like a pipe there;
    /// one to a peer the policy names (a host daemon: `/run/docker.sock`) is
    /// decided like any other.
    pub fn adopt(&self, inherited: Vec<crate::inherited::Inherited>) -> Vec<NetAddr> {
        let mut shared = self.lock();
        let state = shared.state;
        let mut gone = Vec::new();
        for i in inherited {
            if i.stdio && !self.ir.names_endpoint(&i.peer) {
                continue;
            }
            let t = Tracked::new(i.sock, i.peer, i.udp, Vec::new());
            if self.allows_peer(state, &t.addr, &t.names) {
                shared.sockets.push(t);
            } else {
                shut(&t);
                gone.push(t.addr);
            }
        }
        gone
    }

    /// After a `connect` (or a send that connects or corks) the monitor performed
    /// outside the lock on `sock`, registered for `addr` by a decision made after
    /// `epoch` transitions (its [`Verdict`]; a transition the decision fired
    /// itself is not counted, and its revocation ran before the socket was
    /// registered). If one fired since, the current state decides again: a
    /// socket it does not allow is shut down now; one it allows is tracked (a
    /// revocation in between may have dropped it from the list). Without a
    /// transition since, nothing changed: no syscall, and no walk over the
    /// tracked sockets (there are thousands on a busy client; the walk, three
    /// `fstat`s per tracked socket, was most of a connect's cost).
    pub(crate) fn recheck(&self, sock: &OwnedFd, epoch: u64, addr: &NetAddr, udp: bool) {
        let mut shared = self.lock();
        if shared.epoch == epoch {
            return;
        }
        let ino = inode(sock.as_raw_fd()).unwrap_or(0);
        // The names it was connected as, when tracked (`crate::dns`); one that a
        // revocation dropped meanwhile is decided by its address alone (fail
        // closed).
        let names = shared
            .sockets
            .iter()
            .find(|t| t.ino == ino)
            .map(|t| t.names.clone())
            .unwrap_or_default();
        if !self.allows_peer(shared.state, addr, &names) {
            shared.sockets.retain(|t| t.ino != ino);
            shut_fd(sock.as_raw_fd(), udp);
        } else if !shared.sockets.iter().any(|t| t.ino == ino) {
            if let Ok(d) = sock.try_clone() {
                shared.sockets.push(Tracked::new(d, addr.clone(), udp, names));
            } else {
                // Beyond revocation's reach otherwise: fail closed.
                shut_fd(sock.as_raw_fd(), udp);
            }
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
            let held = open_inodes.contains(&t.ino);
            if !held {
                shut(t);
            }
            held
        });
    }

    /// At the end of the run: lets the audit writers catch up, for a while.
    pub fn finish_audit(&self) {
        self.audit.finish(AUDIT_GRACE);
    }

    /// Are there tracked sockets (is [`Monitor::forget_closed`] worth running)?
    pub fn tracking(&self) -> bool {
        !self.lock().sockets.is_empty()
    }
}

/// Names the calling thread (as `/proc/<pid>/task/<tid>/comm` shows it).
fn set_thread_name(name: &std::ffi::CStr) {
    // SAFETY: a NUL-terminated name of at most 16 bytes, copied by the kernel.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0);
    }
}

fn shut(t: &Tracked) {
    shut_fd(t.sock.as_raw_fd(), t.udp);
}

fn shut_fd(fd: i32, udp: bool) {
    // SAFETY: `fd` is a descriptor the caller owns; every pointer passed (`off`,
    // `unspec`, `big`) is a live local with its exact size, only read by the
    // kernel.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
        if udp {
            // A datagram left pending (`MSG_MORE`, `UDP_CORK`) is not dropped by
            // shutdown or disconnect, and later writes would append to it: send
            // it now, as it was before the transition (clearing the cork pushes
            // it), so that nothing written later can join it.
            let off: i32 = 0;
            libc::setsockopt(
                fd,
                libc::IPPROTO_UDP,
                libc::UDP_CORK,
                (&raw const off).cast(),
                std::mem::size_of::<i32>() as u32,
            );
            // shutdown() does not stop a connected UDP socket from sending;
            // dissolving the association does (later sends need an address, and
            // those come to the monitor).
            let unspec = libc::sockaddr {
                sa_family: libc::AF_UNSPEC as u16,
                sa_data: [0; 14],
            };
            libc::connect(fd, &unspec, std::mem::size_of::<libc::sockaddr>() as u32);
            // A frame left corked (UDP_CORK) would still go to its destination
            // when uncorked, with whatever was appended after the taint. A send
            // that cannot fit the frame makes the kernel drop it (EMSGSIZE:
            // udp_flush_pending_frames); with nothing pending it has no address
            // to go to (EDESTADDRREQ), so nothing is ever sent.
            let big = vec![0u8; 0xFFFF];
            libc::send(
                fd,
                big.as_ptr().cast(),
                big.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            );
        }
    }
}

fn inode(fd: i32) -> Option<u64> {
    // SAFETY: `stat` is plain old data: all-zero bytes are a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writing; a stale or bad `fd` only fails (EBADF).
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_ir::{ArgCond, CmpOp, Entity, Rule, Transition};
    use claw_stdlib::Arch;

    fn nr(name: &str) -> u32 {
        SyscallTable::get(Arch::X86_64).by_name(name).unwrap().nr
    }

    fn rule(action: Action, matcher: Matcher) -> Rule {
        Rule {
            action,
            states: None,
            matcher,
            origin: "t".into(),
        }
    }

    fn reads(paths: &[&str]) -> Matcher {
        Matcher::Access {
            verbs: vec![Verb::Read],
            entity: Entity::Paths(paths.iter().map(|p| p.to_string()).collect()),
        }
    }

    fn read(path: &str) -> Vec<Access> {
        vec![Access::Path {
            verb: Verb::Read,
            path: path.into(),
        }]
    }

    /// Reads allowed under /usr, a transition on reading /secret, and a syscall
    /// rule on `openat` that looks at its flags (so `openat` is never cached).
    fn ir() -> Ir {
        Ir {
            name: "t".into(),
            arch: Arch::X86_64,
            default: Action::Deny(1),
            states: vec!["clean".into(), "tainted".into()],
            initial: 0,
            rules: vec![
                rule(Action::Allow, reads(&["/usr/**", "/secret"])),
                rule(
                    Action::Deny(13),
                    Matcher::Syscall {
                        nr: nr("openat"),
                        conds: vec![ArgCond {
                            arg: 2,
                            width: 32,
                            mask: Some(0o100),
                            op: CmpOp::Ne,
                            value: 0,
                        }],
                    },
                ),
            ],
            transitions: vec![Transition {
                from: 0,
                to: 1,
                event: reads(&["/secret"]),
                origin: "t".into(),
            }],
            assertions: vec![],
        }
    }

    #[test]
    fn cached_decisions_are_the_irs_own() {
        let (ir, env) = (ir(), Env::new());
        let mut cache = DecisionCache::new(&ir);
        let open = nr("open");
        for _ in 0..3 {
            for state in [0, 1] {
                for path in ["/usr/include/stdio.h", "/secret", "/etc/shadow"] {
                    let accesses = read(path);
                    let req = Request {
                        nr: open,
                        args: [state as u64 + 7; 6],
                        accesses: &accesses,
                    };
                    let direct = (ir.decide(state, &req, &env), ir.next_state(state, &req, &env));
                    assert_eq!(cache.decide(&ir, &env, state, &req), direct, "{path} in {state}");
                }
            }
        }
        assert_eq!(cache.held, 6, "one entry per state and path");
        let fired = cache.decide(
            &ir,
            &env,
            0,
            &Request {
                nr: open,
                args: [0; 6],
                accesses: &read("/secret"),
            },
        );
        assert_eq!(
            fired.1.map(|(to, _)| to),
            Some(1),
            "the transition is remembered too"
        );
    }

    /// A monitor that allows connecting to UDP `127.0.0.1:port` in the clean
    /// state only; with `fires`, that connect itself moves to the tainted state.
    fn udp_monitor(port: u16, fires: bool) -> (Arc<Monitor>, NetAddr) {
        let addr = NetAddr::Inet {
            proto: claw_ir::Proto::Udp,
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            port,
        };
        let endpoint = Matcher::Access {
            verbs: vec![Verb::Connect],
            entity: Entity::Endpoints(vec![claw_ir::Endpoint {
                proto: claw_ir::Proto::Udp,
                addr: claw_ir::Addr::Any,
                ports: (port, port),
            }]),
        };
        let mut ir = ir();
        ir.rules.push(Rule {
            action: Action::Allow,
            states: Some(vec![0]),
            matcher: endpoint.clone(),
            origin: "t".into(),
        });
        if fires {
            ir.transitions = vec![Transition {
                from: 0,
                to: 1,
                event: endpoint,
                origin: "t".into(),
            }];
        }
        let null = std::fs::File::open("/dev/null").unwrap();
        let m = Monitor::with_ir(
            &ir,
            Env::new(),
            Listener::new(null.into()),
            AuditLog::new(None, false),
            std::process::id(),
            crate::resolve::View::Host { monitor: 0 },
            crate::aliases::Aliases::default(),
        );
        (m, addr)
    }

    /// Decides a connect of `sock` to `addr` and registers it, as an allowed
    /// connect does, then connects it (outside the lock, as the handlers do).
    /// Returns the decision's epoch.
    fn decide_and_connect(m: &Monitor, sock: &std::net::UdpSocket, addr: &NetAddr, server: &str) -> u64 {
        let dup: OwnedFd = sock.try_clone().unwrap().into();
        let n = Notification {
            id: 1,
            tid: std::process::id(),
            nr: nr("connect"),
            arch: 0,
            args: [0; 6],
            ip: 0,
        };
        let connect = [Access::Net {
            verb: Verb::Connect,
            addr: addr.clone(),
            name: None,
        }];
        let v = m.decide_then(
            &n,
            "connect",
            n.nr,
            &connect,
            || json!({}),
            |add| add(dup, addr.clone(), true),
        );
        assert!(v.allowed());
        sock.connect(server).unwrap();
        v.epoch
    }

    /// A connect whose own decision fires a transition to a state that does
    /// not allow its peer: the revocation ran before the socket was registered
    /// (and connected), so only the recheck after the connect can shut it down.
    /// With no transition since the decision, the recheck leaves the socket.
    #[test]
    fn a_connect_that_fires_a_transition_closing_its_peer_is_shut_by_the_recheck() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_millis(300)))
            .unwrap();
        let port = server.local_addr().unwrap().port();
        let at = format!("127.0.0.1:{port}");
        let mut buf = [0u8; 64];
        // The channel: without the recheck the socket sends in the new state.
        let (m, addr) = udp_monitor(port, true);
        let open = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        decide_and_connect(&m, &open, &addr, &at);
        assert_eq!(m.state(), 1, "the connect fired the transition");
        open.send(b"leak").unwrap();
        assert_eq!(server.recv(&mut buf).ok(), Some(4), "the channel works");
        // With it, nothing is sent, and the socket is no longer tracked.
        let (m, addr) = udp_monitor(port, true);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let epoch = decide_and_connect(&m, &sock, &addr, &at);
        let mine: OwnedFd = sock.try_clone().unwrap().into();
        m.recheck(&mine, epoch, &addr, true);
        let _ = sock.send(b"leak");
        assert!(server.recv(&mut buf).is_err(), "sent after the recheck");
        assert!(!m.tracking());
        // No transition: left connected and tracked.
        let (m, addr) = udp_monitor(port, false);
        let kept = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let epoch = decide_and_connect(&m, &kept, &addr, &at);
        let mine: OwnedFd = kept.try_clone().unwrap().into();
        m.recheck(&mine, epoch, &addr, true);
        kept.send(b"ok").unwrap();
        assert_eq!(server.recv(&mut buf).ok(), Some(2));
        assert!(m.tracking());
    }

    #[test]
    fn a_syscall_whose_registers_matter_is_never_cached() {
        let (ir, env) = (ir(), Env::new());
        let mut cache = DecisionCache::new(&ir);
        let accesses = read("/usr/include/stdio.h");
        let with_flags = |flags: u64| Request {
            nr: nr("openat"),
            args: [0, 0, flags, 0, 0, 0],
            accesses: &accesses,
        };
        assert!(cache.decide(&ir, &env, 0, &with_flags(0)).0.action.is_allowing());
        assert_eq!(
            cache.decide(&ir, &env, 0, &with_flags(0o100)).0.action,
            Action::Deny(13)
        );
        assert_eq!(cache.held, 0);
        assert!(cache.answers.is_empty());
    }
}
