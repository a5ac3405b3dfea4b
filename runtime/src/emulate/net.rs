//! Network syscalls: the monitor reads and validates the address, then connects,
//! binds or sends on its own duplicate of the agent's socket (`pidfd_getfd`) with
//! the address it validated. Sockets it connects are tracked for revocation, and
//! so are sockets a send connects or leaves a datagram pending on (TCP Fast Open,
//! `MSG_MORE`, `UDP_CORK`): see [`implicit_peer`].
//!
//! In isolated mode (a network namespace of the sandbox's own, only `lo`) a
//! socket the agent made reaches nothing outside, whatever it does: its calls to
//! addresses that stay inside (`Ir::stays_inside`) go to the kernel undecided,
//! and an allowed call to an outside address gets a socket the monitor makes in
//! its own namespace, installed in place of the agent's (see `outside`).

use super::cvt;
use super::outside;
use crate::agent;
use crate::monitor::{Fail, Monitor, Outcome};
use crate::notify::{Notification, Reply};
use crate::resolve::{self, proc_fd, How};
use crate::sockaddr::{self, SocketKind, MAX_ADDR};
use crate::wire;
use claw_ir::{Access, Mediation, NetAddr, Proto, Verb};
use serde_json::json;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// At most this much data is copied per emulated send (a stream send may be
/// short, as the kernel's may; no datagram is this large).
const MAX_SEND: usize = 1 << 20;

/// An address as validated: what policies see, the bytes the monitor will use, and
/// any handle keeping a resolved unix socket path alive.
struct Target {
    addr: Option<NetAddr>,
    bytes: Vec<u8>,
    _hold: Option<OwnedFd>,
}

/// Reads and parses the address at `addr` for a socket of `kind`. A pathname unix
/// address is resolved like any path (canonical, symlinks followed by the monitor)
/// and then used through the handle, so a swapped symlink cannot redirect it; for
/// `bind` only its directory is resolved (the socket file does not exist yet).
fn target(
    m: &Monitor,
    n: &Notification,
    kind: SocketKind,
    addr: u64,
    len: usize,
    bind: bool,
) -> Result<Target, Fail> {
    let len = len.min(MAX_ADDR);
    let bytes = agent::read_mem(n.tid, addr, len)?;
    m.valid(n)?;
    let parsed = sockaddr::parse(&bytes, kind).map_err(Fail::Errno)?;
    let Some(NetAddr::UnixPath(p)) = &parsed else {
        return Ok(Target {
            addr: parsed,
            bytes,
            _hold: None,
        });
    };
    let asker = m.asker(n);
    if bind {
        let parent = resolve::resolve_parent(&asker, libc::AT_FDCWD, p.as_bytes())?;
        let name = parent.name.to_string_lossy().into_owned();
        let via = format!("{}/{name}", proc_fd(&parent.dir));
        let bytes = sockaddr::unix_addr(&via).ok_or(Fail::Errno(libc::ENAMETOOLONG))?;
        return Ok(Target {
            addr: Some(NetAddr::UnixPath(parent.path)),
            bytes,
            _hold: Some(parent.dir),
        });
    }
    let how = How {
        follow: true,
        ..How::default()
    };
    let r = resolve::resolve(&asker, libc::AT_FDCWD, p.as_bytes(), how)?;
    let bytes = sockaddr::unix_addr(&proc_fd(&r.fd)).ok_or(Fail::Errno(libc::ENAMETOOLONG))?;
    Ok(Target {
        addr: Some(NetAddr::UnixPath(r.path)),
        bytes,
        _hold: Some(r.fd),
    })
}

fn socket(m: &Monitor, n: &Notification, fd: i32) -> Result<(OwnedFd, SocketKind), Fail> {
    let sock = agent::take_thread_fd(n.tid, fd).map_err(|e| match e.raw_os_error() {
        Some(libc::ESRCH) => Fail::Gone,
        _ => Fail::Errno(libc::EBADF),
    })?;
    m.valid(n)?;
    let kind = sockaddr::kind(&sock).map_err(|_| Fail::Errno(libc::ENOTSOCK))?;
    Ok((sock, kind))
}

/// The accesses of a call with `verb` to `addr`: one per name the address is
/// reached as, or one without (`crate::dns`); `sock` is asked for the names it
/// was connected as.
fn net_access(m: &Monitor, verb: Verb, addr: &Option<NetAddr>, sock: Option<&OwnedFd>) -> Vec<Access> {
    match addr {
        Some(a) => crate::dns::accesses(m, verb, a, sock),
        None => Vec::new(),
    }
}

fn show(addr: &Option<NetAddr>) -> serde_json::Value {
    match addr {
        Some(a) => json!({ "addr": a.to_string() }),
        None => json!({ "addr": null }),
    }
}

/// `connect` and `bind`.
pub(super) fn connect_or_bind(m: &Monitor, n: &Notification, name: &str, med: Mediation) -> Outcome {
    let a = n.args;
    let (fd, addr, len, verb) = match med {
        Mediation::Connect { fd, addr, len } => (fd, addr, len, Verb::Connect),
        Mediation::Bind { fd, addr, len } => (fd, addr, len, Verb::Bind),
        _ => return Err(Fail::Errno(libc::ENOSYS)),
    };
    let agent_fd = a[fd as usize] as i32;
    let (sock, kind) = socket(m, n, agent_fd)?;
    let len = wire::addr_len(a[len as usize]).map_err(Fail::Errno)?;
    let t = target(m, n, kind, a[addr as usize], len, verb == Verb::Bind)?;
    let mut replace = None;
    if verb == Verb::Connect {
        match Place::of(m, &sock, kind, &t.addr) {
            Place::Inside => return Ok(Reply::Continue.into()),
            Place::Unreachable => return Err(Fail::Errno(libc::ENETUNREACH)),
            Place::Outside => replace = Some(outside::make(m, &sock, kind)?),
            Place::Host => {}
        }
    }
    let accesses = net_access(m, verb, &t.addr, None);
    let track = verb == Verb::Connect && t.addr.is_some();
    let udp = kind.proto == Some(Proto::Udp);
    // The duplicate revocation acts on, made before deciding: a socket the monitor
    // cannot keep (its descriptor table full) is not connected at all. Connecting
    // it untracked would leave it beyond revocation.
    let dup = if track {
        let mine = replace.as_ref().unwrap_or(&sock);
        Some(mine.try_clone().map_err(|_| Fail::Errno(libc::ENOBUFS))?)
    } else {
        None
    };
    let v = m.decide_then(
        n,
        name,
        n.nr,
        &accesses,
        || crate::dns::shown(m, &t.addr, &accesses, verb),
        |add| {
            if let (Some(addr), Some(dup)) = (&t.addr, dup) {
                add(dup, addr.clone(), udp);
            }
        },
    );
    if !v.allowed() {
        return Ok(v.refusal().into());
    }
    let watch = match (&t.addr, track) {
        (Some(addr), true) => Some(Watch {
            epoch: v.epoch,
            addr: addr.clone(),
            udp,
        }),
        _ => None,
    };
    if let Some(new) = replace {
        return connect_replaced(m, n, agent_fd, new, t, watch);
    }
    if verb == Verb::Connect && blocking(&sock) {
        // A blocking connect waits for the peer (a full backlog, a host that
        // never answers) as long as the agent lets it: on a thread of its own.
        return m.offload(n, move |m| finish_connect(m, &sock, &t, verb, watch.as_ref()));
    }
    finish_connect(m, &sock, &t, verb, watch.as_ref())
}

/// A socket registered for revocation by the decision that allowed the call
/// (with the [`Verdict`](crate::monitor::Verdict)'s epoch), to look at again
/// once the call is performed ([`Monitor::recheck`]).
pub(super) struct Watch {
    pub(super) epoch: u64,
    pub(super) addr: NetAddr,
    pub(super) udp: bool,
}

impl Watch {
    pub(super) fn recheck(&self, m: &Monitor, sock: &OwnedFd) {
        m.recheck(sock, self.epoch, &self.addr, self.udp);
    }
}

/// The most a send waiting on a thread of its own keeps of a stream's data.
const WAITING_CHUNK: usize = 64 * 1024;

/// Is the socket a byte stream (where a send may be short)?
fn is_stream(sock: &OwnedFd) -> bool {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: plain syscall into a local of the size passed.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    r == 0 && ty == libc::SOCK_STREAM
}

/// Where a call on an `AF_INET`/`AF_INET6` socket to an address goes.
enum Place {
    /// Not isolated, or a socket of the monitor's namespace to a host address:
    /// decided and performed on the agent's socket, as in mediated mode.
    Host,
    /// A socket of the sandbox's namespace, to an address that stays inside (or
    /// none, or one no endpoint describes): the kernel's, undecided — it can
    /// reach nothing but the sandbox's loopback.
    Inside,
    /// A socket of the sandbox's namespace, to an outside address: decided; if
    /// allowed, performed on a socket the monitor makes (see `outside`).
    Outside,
    /// A socket of the monitor's namespace to an address that stays inside: the
    /// host's loopback there is not the policy's to give.
    Unreachable,
}

impl Place {
    fn of(m: &Monitor, sock: &OwnedFd, kind: SocketKind, addr: &Option<NetAddr>) -> Place {
        if !m.isolated() || !matches!(kind.family, libc::AF_INET | libc::AF_INET6) {
            return Place::Host;
        }
        let inside = addr.as_ref().is_none_or(|a| crate::dns::stays_inside(m, a));
        match (outside::is_host_socket(sock), inside) {
            (false, true) => Place::Inside,
            (false, false) => Place::Outside,
            (true, true) if addr.is_some() => Place::Unreachable,
            (true, _) => Place::Host,
        }
    }
}

/// Is the socket in blocking mode (its file's flags, shared with the agent)?
fn blocking(sock: &OwnedFd) -> bool {
    // SAFETY: plain syscall on a descriptor we own.
    let fl = unsafe { libc::fcntl(sock.as_raw_fd(), libc::F_GETFL) };
    fl >= 0 && fl & libc::O_NONBLOCK == 0
}

/// An allowed `connect` on the socket the monitor made to replace the agent's
/// (isolated mode, see `outside`). It is connected *before* it is installed,
/// while the monitor alone holds it, so it can be connected without blocking
/// even when the agent's socket blocks: a peer that answers at once (on
/// loopback the whole handshake happens inside the call) is answered by the
/// worker, and only a connect still in progress goes to a thread of its own,
/// which waits in the kernel's own blocking connect (its `SO_SNDTIMEO`, its
/// errors). Then the socket is looked at again (a transition meanwhile), given
/// back its blocking mode, installed at the agent's descriptor, and answered.
fn connect_replaced(
    m: &Monitor,
    n: &Notification,
    fd: i32,
    new: OwnedFd,
    t: Target,
    watch: Option<Watch>,
) -> Outcome {
    let blocks = blocking(&new);
    if !blocks {
        let r = connect_to(&new, &t);
        return install_connected(m, n, fd, &new, watch.as_ref(), r);
    }
    set_nonblocking(&new, true);
    match connect_to(&new, &t) {
        Err(Fail::Errno(libc::EINPROGRESS)) => {}
        r => {
            set_nonblocking(&new, false);
            return install_connected(m, n, fd, &new, watch.as_ref(), r);
        }
    }
    // In progress. Connecting again in blocking mode answers as the agent's
    // connect would have: at once when the handshake is over (0, or the error
    // that ended it), else when it is.
    let over = settled(&new);
    set_nonblocking(&new, false);
    if over {
        let r = connect_to(&new, &t);
        return install_connected(m, n, fd, &new, watch.as_ref(), r);
    }
    let n = *n;
    m.offload(&n, move |m| {
        let r = connect_to(&new, &t);
        install_connected(m, &n, fd, &new, watch.as_ref(), r)
    })
}

/// The end of [`connect_replaced`]: a transition meanwhile is applied, then the
/// socket is installed at the agent's descriptor and `r` answered.
fn install_connected(
    m: &Monitor,
    n: &Notification,
    fd: i32,
    new: &OwnedFd,
    watch: Option<&Watch>,
    r: Result<i64, Fail>,
) -> Outcome {
    if let Some(w) = watch {
        w.recheck(m, new);
    }
    outside::install(m, n, fd, new)?;
    Ok(Reply::Value(r?).into())
}

/// `connect(2)` to the validated address.
fn connect_to(sock: &OwnedFd, t: &Target) -> Result<i64, Fail> {
    // SAFETY: the address bytes are ours and their length is passed.
    let r = unsafe {
        libc::connect(
            sock.as_raw_fd(),
            t.bytes.as_ptr().cast(),
            t.bytes.len() as libc::socklen_t,
        )
    };
    cvt(r.into())
}

/// Is a connect in progress on `sock` over (connected, or failed), without
/// waiting?
fn settled(sock: &OwnedFd) -> bool {
    let mut p = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one pollfd of ours; timeout 0 never waits.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// Sets or clears `O_NONBLOCK` on a socket only the monitor holds.
fn set_nonblocking(sock: &OwnedFd, on: bool) {
    // SAFETY: plain fcntls on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(sock.as_raw_fd(), libc::F_GETFL);
        if fl >= 0 {
            let fl = if on {
                fl | libc::O_NONBLOCK
            } else {
                fl & !libc::O_NONBLOCK
            };
            libc::fcntl(sock.as_raw_fd(), libc::F_SETFL, fl);
        }
    }
}

/// Performs a decided `connect` or `bind`.
fn finish_connect(m: &Monitor, sock: &OwnedFd, t: &Target, verb: Verb, watch: Option<&Watch>) -> Outcome {
    // SAFETY: the address bytes are ours and their length is passed.
    let r = unsafe {
        let sa = t.bytes.as_ptr().cast::<libc::sockaddr>();
        let l = t.bytes.len() as libc::socklen_t;
        if verb == Verb::Connect {
            libc::connect(sock.as_raw_fd(), sa, l)
        } else {
            libc::bind(sock.as_raw_fd(), sa, l)
        }
    };
    let r = cvt(r.into());
    if let Some(w) = watch {
        w.recheck(m, sock);
    }
    Ok(Reply::Value(r?).into())
}

/// The accesses of a send: `send` to its explicit address; without one, talking
/// to the connected peer, which is decided as `connect` to it ("connect means
/// talk": a socket connected under `connect E` may exchange data with `E` by any
/// call, as `write(2)` on it does without asking). A send to an unnamed peer (a
/// `socketpair`) reaches only whoever holds the other end, as `write(2)` on the
/// same descriptor would: it is decided as `write`.
fn send_accesses(
    m: &Monitor,
    sock: &OwnedFd,
    kind: SocketKind,
    t: &Option<Target>,
) -> (u32, Vec<Access>, Option<NetAddr>) {
    let addr = match t {
        Some(t) => t.addr.clone(),
        None => sockaddr::peer(sock, kind),
    };
    if t.is_none() && addr.is_none() && kind.family == libc::AF_UNIX {
        let write = m.table().by_name("write").map_or(u32::MAX, |s| s.nr);
        return (write, Vec::new(), None);
    }
    let verb = if t.is_some() { Verb::Send } else { Verb::Connect };
    let peer = if t.is_none() { Some(sock) } else { None };
    (u32::MAX, net_access(m, verb, &addr, peer), addr)
}

/// Emulated sends never raise SIGPIPE in the monitor; the agent gets it, as the
/// kernel would have sent it, unless it asked for MSG_NOSIGNAL.
fn pipe_signal(n: &Notification, flags: i32, r: &Result<i64, Fail>) {
    if flags & libc::MSG_NOSIGNAL == 0 && matches!(r, Err(Fail::Errno(libc::EPIPE))) {
        if let Ok(tgid) = agent::tgid_of(n.tid) {
            // SAFETY: tgkill with integer arguments touches no memory; `tgid`/`tid` name
            // the notifying thread, alive while its notification is pending.
            unsafe {
                libc::syscall(libc::SYS_tgkill, tgid, n.tid, libc::SIGPIPE);
            }
        }
    }
}

/// A decided send, ready to perform: the data, the address and control bytes as
/// the monitor validated them, and its duplicates of the descriptors it passes.
struct Outgoing {
    data: Vec<u8>,
    target: Option<Target>,
    control: Vec<u8>,
    _held: Vec<OwnedFd>,
    /// The agent's flags.
    flags: i32,
    /// `sendto` with an address of length 0: the kernel passes a name of length
    /// 0 to the protocol (UDP answers `EINVAL`), which is not the same as none.
    empty_name: bool,
    /// The socket the monitor made to replace the agent's (isolated mode, an
    /// allowed send to an outside address): to install before sending on it.
    replace: Option<OwnedFd>,
    /// The send was registered for revocation (see [`implicit_peer`]): once it is
    /// performed, a transition that happened meanwhile is applied to the socket.
    watch: Option<Watch>,
}

/// How far a send got without waiting.
enum Sent {
    /// Finished (or failed): the answer.
    Done(i64),
    /// The agent's socket is blocking and the send would wait, after this many
    /// bytes.
    Waits(usize),
}

impl Outgoing {
    /// Sends `data[from..]` (control messages go with the first byte only, as
    /// the kernel attaches them).
    fn send(&mut self, sock: &OwnedFd, from: usize, extra: i32) -> Result<i64, Fail> {
        let rest = self.data.get_mut(from..).unwrap_or_default();
        let mut iov = libc::iovec {
            iov_base: rest.as_mut_ptr().cast(),
            iov_len: rest.len(),
        };
        // SAFETY: all-zero is a valid msghdr; every pointer set below is ours.
        let mut out: libc::msghdr = unsafe { std::mem::zeroed() };
        out.msg_iov = &mut iov;
        out.msg_iovlen = 1;
        let mut empty = [0u8; 2];
        if let Some(t) = &self.target {
            out.msg_name = t.bytes.as_ptr() as *mut libc::c_void;
            out.msg_namelen = t.bytes.len() as u32;
        } else if self.empty_name {
            out.msg_name = empty.as_mut_ptr().cast();
        }
        if from == 0 && !self.control.is_empty() {
            out.msg_control = self.control.as_mut_ptr().cast();
            out.msg_controllen = self.control.len();
        }
        // Never MSG_MORE: a frame the monitor left corked would go out with
        // whatever the agent writes next, revoked or not.
        let flags = (self.flags & !libc::MSG_MORE) | libc::MSG_NOSIGNAL | extra;
        // SAFETY: out points at buffers alive for the call.
        cvt(unsafe { libc::sendmsg(sock.as_raw_fd(), &out, flags) } as libc::c_long)
    }

    /// Sends without waiting. A send that would wait on a socket the agent made
    /// blocking is not waited for here (see [`Outgoing::finish`]).
    fn try_send(&mut self, n: &Notification, sock: &OwnedFd) -> Result<Sent, Fail> {
        if self.flags & libc::MSG_DONTWAIT != 0 {
            let r = self.send(sock, 0, 0);
            pipe_signal(n, self.flags, &r);
            return r.map(Sent::Done);
        }
        match self.send(sock, 0, libc::MSG_DONTWAIT) {
            Ok(k) if k as usize >= self.data.len() || !blocking(sock) => Ok(Sent::Done(k)),
            Ok(k) => Ok(Sent::Waits(k as usize)),
            Err(Fail::Errno(libc::EAGAIN)) if blocking(sock) => Ok(Sent::Waits(0)),
            // A Fast Open without a cookie only started the handshake: the
            // agent's blocking send waits for it and sends, as the kernel's would.
            Err(Fail::Errno(libc::EINPROGRESS)) if blocking(sock) && self.flags & libc::MSG_FASTOPEN != 0 => {
                Ok(Sent::Waits(0))
            }
            r => {
                pipe_signal(n, self.flags, &r);
                r.map(Sent::Done)
            }
        }
    }

    /// Finishes a send that waits, blocking (on a thread of its own): what the
    /// kernel's blocking send would have answered.
    /// Before waiting, after `sent` bytes went: a waiting send holds its copy
    /// for as long as the peer does not read, up to 1 MiB each for thousands of
    /// them, memory the agent never pays (its children share one buffer). A
    /// stream send may be short, so only the next [`WAITING_CHUNK`] is kept; a
    /// datagram is bounded by the socket's send buffer already. Returns where
    /// the rest starts in `data`.
    fn keep_for_waiting(&mut self, sock: &OwnedFd, sent: usize) -> usize {
        if !is_stream(sock) {
            return sent;
        }
        let len = self.data.len();
        self.data = self.data[sent.min(len)..sent.saturating_add(WAITING_CHUNK).min(len)].to_vec();
        if sent > 0 {
            self.control.clear(); // it went with the first byte
        }
        0
    }

    /// `sent` bytes went already; the rest starts at `data[from..]`.
    fn finish(mut self, n: &Notification, sock: &OwnedFd, sent: usize, from: usize) -> Result<i64, Fail> {
        let r = self.send(sock, from, 0);
        match r {
            Ok(k) => Ok(sent as i64 + k),
            Err(_) if sent > 0 => Ok(sent as i64),
            Err(e) => {
                let r = Err(e);
                pipe_signal(n, self.flags, &r);
                r
            }
        }
    }
}

/// Performs a decided send and answers: at once, or from a thread of its own if
/// it waits (a full buffer the peer never drains must not hold a worker).
fn deliver(m: &Monitor, n: &Notification, sock: OwnedFd, mut out: Outgoing) -> Outcome {
    let sent = out.try_send(n, &sock);
    if let Some(w) = &out.watch {
        w.recheck(m, &sock);
    }
    match sent? {
        Sent::Done(v) => Ok(Reply::Value(v).into()),
        Sent::Waits(k) => {
            let from = out.keep_for_waiting(&sock, k);
            let n = *n;
            m.offload(&n, move |m| {
                let watch = out.watch.take();
                let r = out.finish(&n, &sock, k, from);
                if let Some(w) = watch {
                    w.recheck(m, &sock);
                }
                Ok(Reply::Value(r?).into())
            })
        }
    }
}

/// Registers for revocation, under the lock of the decision that allowed the
/// send, when `registers`: the socket the monitor made for it (see `outside`), a
/// TCP socket sent to with an address, which the send may connect
/// (`MSG_FASTOPEN`: from then on `write(2)` reaches the peer without asking), and
/// a UDP socket the send leaves a datagram pending on (see [`implicit_peer`]).
fn track_sent(
    sock: &OwnedFd,
    replace: &Option<OwnedFd>,
    to: &Option<NetAddr>,
    registers: bool,
    kind: SocketKind,
    add: &mut dyn FnMut(OwnedFd, NetAddr, bool),
) {
    if !registers {
        return;
    }
    if let (Some(addr), Ok(dup)) = (to, replace.as_ref().unwrap_or(sock).try_clone()) {
        add(dup, addr.clone(), kind.proto == Some(Proto::Udp));
    }
}

/// What a send registered (see [`track_sent`]) is watched as.
fn watch(
    v: &crate::monitor::Verdict,
    registers: bool,
    to: &Option<NetAddr>,
    kind: SocketKind,
) -> Option<Watch> {
    let addr = to.as_ref().filter(|_| registers)?;
    Some(Watch {
        epoch: v.epoch,
        addr: addr.clone(),
        udp: kind.proto == Some(Proto::Udp),
    })
}

/// `sendto(fd, buf, len, flags, addr, addrlen)`.
pub(super) fn sendto(m: &Monitor, n: &Notification, name: &str) -> Outcome {
    let a = n.args;
    let (sock, kind) = socket(m, n, a[0] as i32)?;
    let len = if a[4] != 0 {
        wire::addr_len(a[5]).map_err(Fail::Errno)?
    } else {
        0
    };
    let t = if len != 0 {
        Some(target(m, n, kind, a[4], len, false)?)
    } else {
        None
    };
    let mut replace = None;
    match Place::of(m, &sock, kind, &t.as_ref().and_then(|t| t.addr.clone())) {
        Place::Inside => return Ok(Reply::Continue.into()),
        Place::Unreachable => return Err(Fail::Errno(libc::ENETUNREACH)),
        Place::Outside => replace = Some(outside::make(m, &sock, kind)?),
        Place::Host => {}
    }
    // The data is copied *before* the decision: copied after, a secret read
    // (and its transition fired) between the two would be sent under the
    // decision of the state before (an unconnected UDP socket has nothing to
    // revoke). Copied before, data that holds a secret was written after the
    // transition, and the decision sees the state after it.
    let data = agent::read_mem(n.tid, a[1], (a[2] as usize).min(MAX_SEND))?;
    m.valid(n)?;
    let (nr, accesses, shown) = send_accesses(m, &sock, kind, &t);
    let nr = if nr == u32::MAX { n.nr } else { nr };
    let flags = a[3] as i32;
    let registers = replace.is_some()
        || implicit_peer(&sock, kind, flags, &t).is_some()
        || (t.is_some() && kind.proto == Some(Proto::Tcp));
    let v = m.decide_then(
        n,
        name,
        nr,
        &accesses,
        || show(&shown),
        |add| track_sent(&sock, &replace, &shown, registers, kind, add),
    );
    if !v.allowed() {
        return Ok(v.refusal().into());
    }
    let watch = watch(&v, registers, &shown, kind);
    let sock = match replace {
        Some(new) => {
            outside::install(m, n, a[0] as i32, &new)?;
            new
        }
        None => sock,
    };
    let out = Outgoing {
        data,
        target: t,
        control: Vec::new(),
        _held: Vec::new(),
        flags,
        empty_name: a[4] != 0 && len == 0,
        replace: None,
        watch,
    };
    deliver(m, n, sock, out)
}

/// The peer a send makes without a `connect`, which revocation must reach: TCP
/// Fast Open (`MSG_FASTOPEN` with an address connects the socket), and a UDP
/// datagram left pending by `MSG_MORE` or `UDP_CORK` (later writes append to it
/// and it goes to the address given here, connected or not).
fn implicit_peer(sock: &OwnedFd, kind: SocketKind, flags: i32, t: &Option<Target>) -> Option<NetAddr> {
    let addr = t.as_ref().and_then(|t| t.addr.clone())?;
    let implicit = match kind.proto {
        Some(Proto::Tcp) => flags & libc::MSG_FASTOPEN != 0,
        Some(Proto::Udp) => flags & libc::MSG_MORE != 0 || corked(sock),
        _ => false,
    };
    implicit.then_some(addr)
}

/// Is `UDP_CORK` set on the socket? (An agent thread may set it after this
/// look; the datagram it then corks came from this send, already registered
/// when MSG_MORE was given, else from a later send that is looked at again.)
fn corked(sock: &OwnedFd) -> bool {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: v and len are valid for the call.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_UDP,
            libc::UDP_CORK,
            (&raw mut v).cast(),
            &mut len,
        )
    };
    r == 0 && v != 0
}

/// `sendmsg(fd, msg, flags)` and `sendmmsg(fd, msgvec, vlen, flags)`.
pub(super) fn sendmsg(m: &Monitor, n: &Notification, name: &str) -> Outcome {
    let a = n.args;
    let (mut sock, kind) = socket(m, n, a[0] as i32)?;
    if name != "sendmmsg" {
        let mut out = one_msg(m, n, name, &sock, kind, a[1], a[2] as i32)?;
        if let Some(new) = out.replace.take() {
            outside::install(m, n, a[0] as i32, &new)?;
            sock = new;
        }
        return deliver(m, n, sock, out);
    }
    let flags = a[3] as i32;
    let mut sent = 0i64;
    for i in 0..wire::mmsg_vlen(a[2]) {
        let (Some(at), Some(len_at)) = (wire::mmsg_entry(a[1], i), wire::mmsg_len_field(a[1], i)) else {
            return Err(Fail::Errno(libc::EFAULT));
        };
        let done = one_msg(m, n, name, &sock, kind, at, flags).and_then(|mut out| {
            if let Some(new) = out.replace.take() {
                outside::install(m, n, a[0] as i32, &new)?;
                sock = new;
            }
            let r = out.try_send(n, &sock);
            if let Some(w) = &out.watch {
                w.recheck(m, &sock);
            }
            Ok((out, r?))
        });
        match done {
            Ok((_, Sent::Done(bytes))) => {
                agent::write_mem(n.tid, len_at, &(bytes as u32).to_ne_bytes())?;
                sent += 1;
            }
            // The first message waits: it alone finishes on a thread of its own
            // (a blocking sendmmsg may answer fewer messages than asked).
            Ok((mut out, Sent::Waits(k))) if sent == 0 => {
                let from = out.keep_for_waiting(&sock, k);
                let n = *n;
                return m.offload(&n, move |m| {
                    let watch = out.watch.take();
                    let bytes = out.finish(&n, &sock, k, from);
                    if let Some(w) = watch {
                        w.recheck(m, &sock);
                    }
                    let bytes = bytes?;
                    agent::write_mem(n.tid, len_at, &(bytes as u32).to_ne_bytes())?;
                    Ok(Reply::Value(1).into())
                });
            }
            Ok((_, Sent::Waits(0))) => break,
            Ok((_, Sent::Waits(k))) => {
                agent::write_mem(n.tid, len_at, &(k as u32).to_ne_bytes())?;
                sent += 1;
                break;
            }
            Err(e) if sent == 0 => return Err(e),
            // As the kernel: the messages sent so far are the answer.
            Err(_) => break,
        }
    }
    Ok(Reply::Value(sent).into())
}

/// One message of a `sendmsg`/`sendmmsg`, decided and ready to send. Its header,
/// iovec array and control buffer are read and parsed (see `wire`) before
/// anything is decided, so a malformed message is refused as the kernel refuses
/// it and records nothing.
fn one_msg(
    m: &Monitor,
    n: &Notification,
    name: &str,
    sock: &OwnedFd,
    kind: SocketKind,
    at: u64,
    flags: i32,
) -> Result<Outgoing, Fail> {
    let tid = n.tid;
    let h = wire::parse_msghdr(&agent::read_mem(tid, at, wire::MSGHDR)?).map_err(Fail::Errno)?;
    m.valid(n)?;
    let iovs = agent::read_mem(tid, h.iov, h.iovlen * wire::IOVEC)?;
    let iovs = wire::parse_iovecs(&iovs).map_err(Fail::Errno)?;
    let mut control = agent::read_mem(tid, h.control, h.controllen)?;
    m.valid(n)?;
    let cmsgs = wire::parse_cmsgs(&control).map_err(Fail::Errno)?;
    let slots = wire::rights_slots(&cmsgs).map_err(Fail::Errno)?;
    let t = if h.namelen > 0 {
        Some(target(m, n, kind, h.name, h.namelen, false)?)
    } else {
        None
    };
    let mut replace = None;
    match Place::of(m, sock, kind, &t.as_ref().and_then(|t| t.addr.clone())) {
        // Sent by the monitor on the agent's own socket: it reaches only the
        // sandbox's loopback.
        Place::Inside => {}
        Place::Unreachable => return Err(Fail::Errno(libc::ENETUNREACH)),
        Place::Outside => replace = Some(outside::make(m, sock, kind)?),
        Place::Host => {}
    }
    let inside = replace.is_none() && matches!(Place::of(m, sock, kind, &None), Place::Inside);
    // Gather the data into one buffer (at most MAX_SEND bytes, at most
    // UIO_MAXIOV reads), before the decision (see `sendto`: gathered after, a
    // secret read meanwhile went out under the state before its transition).
    let mut data = Vec::new();
    for iov in &iovs {
        let room = MAX_SEND - data.len();
        if iov.len > 0 && room > 0 {
            data.extend(agent::read_mem(tid, iov.base, iov.len.min(room))?);
        }
    }
    m.valid(n)?;
    let registers = !inside
        && (replace.is_some()
            || implicit_peer(sock, kind, flags, &t).is_some()
            || (t.is_some() && kind.proto == Some(Proto::Tcp)));
    let mut watching = None;
    if !inside {
        let (nr, accesses, shown) = send_accesses(m, sock, kind, &t);
        let nr = if nr == u32::MAX { n.nr } else { nr };
        let v = m.decide_then(
            n,
            name,
            nr,
            &accesses,
            || show(&shown),
            |add| track_sent(sock, &replace, &shown, registers, kind, add),
        );
        if !v.allowed() {
            return Err(Fail::Errno(v.refusal_errno()));
        }
        watching = watch(&v, registers, &shown, kind);
    }
    // Control messages: descriptors passed with SCM_RIGHTS are the agent's
    // numbers; send the same open files from the monitor's duplicates.
    let held = translate_rights(m, n, &mut control, &slots)?;
    Ok(Outgoing {
        data,
        target: t,
        control,
        _held: held,
        flags,
        empty_name: false,
        replace,
        watch: watching,
    })
}

/// Rewrites the SCM_RIGHTS descriptor slots of a parsed control buffer (see
/// [`wire::rights_slots`]: at most `SCM_MAX_FD`, each inside the buffer) to the
/// monitor's duplicates of them; returns the duplicates (kept open until sent).
fn translate_rights(
    m: &Monitor,
    n: &Notification,
    control: &mut [u8],
    slots: &[usize],
) -> Result<Vec<OwnedFd>, Fail> {
    let mut held = Vec::with_capacity(slots.len());
    if slots.is_empty() {
        return Ok(held);
    }
    let tgid = m.asker(n).tgid();
    for &p in slots {
        let slot = control.get_mut(p..p + 4).ok_or(Fail::Errno(libc::EINVAL))?;
        let theirs = i32::from_ne_bytes([slot[0], slot[1], slot[2], slot[3]]);
        let mine = agent::take_fd(tgid, theirs).map_err(|_| Fail::Errno(libc::EBADF))?;
        if let Some(t) = m.tripwires.get() {
            // Isolated files: a file in flight is where no late mark's scan of
            // `/proc` can see it.
            t.passed(mine.as_fd(), n.tid);
        }
        slot.copy_from_slice(&mine.as_raw_fd().to_ne_bytes());
        held.push(mine);
    }
    Ok(held)
}
