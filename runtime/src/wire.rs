//! The kernel's wire formats as the monitor reads them from agent memory: `msghdr`
//! and `mmsghdr`, `iovec` arrays, control-message buffers, `open_how`, `timeval`
//! pairs and the size registers of readlink and xattr calls. Pure functions over
//! byte slices (so that they are property-tested over arbitrary bytes), with the
//! kernel's own rules and errnos: checked arithmetic, loops bounded by the buffer,
//! never a panic. What this module does not know: agent memory (the callers read
//! it, see `agent`), sockets and descriptors (the callers translate them), and the
//! per-protocol meaning of control messages (the kernel checks those when the
//! monitor sends).
//!
//! Sources: net/socket.c (`__copy_msghdr`, `____sys_sendmsg`, `__sys_sendmmsg`),
//! include/linux/socket.h (`CMSG_ALIGN`, `CMSG_OK`, `__cmsg_nxthdr`),
//! net/core/scm.c (`__scm_send`, `scm_fp_copy`), lib/iov_iter.c (`__import_iovec`),
//! fs/open.c (`build_open_flags`), fs/xattr.c, fs/utimes.c; confirmed on the kernel
//! the suites run on.

/// `sizeof(struct cmsghdr)` on the 64-bit targets: `size_t len; int level, type`.
pub const CMSG_HDR: usize = 16;
/// `SCM_MAX_FD`: the most descriptors one `sendmsg` may pass.
pub const SCM_MAX_FD: usize = 253;
/// `UIO_MAXIOV`.
pub const UIO_MAXIOV: usize = 1024;
/// `MAX_RW_COUNT`: `INT_MAX & PAGE_MASK`, what one call may transfer.
pub const MAX_RW_COUNT: usize = 0x7fff_f000;
/// `sizeof(struct sockaddr_storage)`.
pub const SOCKADDR_STORAGE: usize = 128;
/// The largest control buffer the monitor copies. The kernel's bound is
/// `net.core.optmem_max` (128 KiB by default, and a buffer of that size already
/// fails); beyond this one the monitor answers the kernel's `ENOBUFS`.
pub const MAX_CONTROL: usize = 1 << 16;
/// `sizeof(struct msghdr)` and `sizeof(struct mmsghdr)` on the 64-bit targets.
pub const MSGHDR: usize = 56;
/// `sizeof(struct mmsghdr)`.
pub const MMSGHDR: usize = 64;
/// `sizeof(struct iovec)`.
pub const IOVEC: usize = 16;
/// `OPEN_HOW_SIZE_VER0` and the largest `open_how` size accepted (`PAGE_SIZE`).
pub const OPEN_HOW_VER0: usize = 24;
/// The largest `open_how` size accepted.
pub const OPEN_HOW_MAX: usize = 4096;
/// `XATTR_NAME_MAX` and `XATTR_SIZE_MAX`.
pub const XATTR_NAME_MAX: usize = 255;
/// `XATTR_SIZE_MAX`.
pub const XATTR_SIZE_MAX: usize = 1 << 16;

/// An errno, as the kernel would answer.
pub type Errno = i32;

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at.saturating_add(8)) {
        w.copy_from_slice(s);
    }
    u64::from_ne_bytes(w)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at.saturating_add(4)) {
        w.copy_from_slice(s);
    }
    u32::from_ne_bytes(w)
}

/// A `struct msghdr` as the kernel accepts it for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgHdr {
    /// The address; `0` (with `namelen` 0) for none.
    pub name: u64,
    /// Clamped to `sizeof(sockaddr_storage)`, as the kernel does for `sendmsg`.
    pub namelen: usize,
    /// The `iovec` array's address.
    pub iov: u64,
    /// Its length, in entries.
    pub iovlen: usize,
    /// The control buffer's address.
    pub control: u64,
    /// Its length.
    pub controllen: usize,
}

/// Parses a `struct msghdr` (at least [`MSGHDR`] bytes; `EFAULT` if shorter).
/// `EINVAL` for a negative `msg_namelen`, `EMSGSIZE` for more than
/// [`UIO_MAXIOV`] iovecs, `ENOBUFS` for a control buffer larger than the kernel
/// (or the monitor) will copy.
pub fn parse_msghdr(b: &[u8]) -> Result<MsgHdr, Errno> {
    if b.len() < MSGHDR {
        return Err(libc::EFAULT);
    }
    // A null name has no length, whatever the field says.
    let name = u64_at(b, 0);
    let namelen = if name == 0 { 0 } else { u32_at(b, 8) as i32 };
    if namelen < 0 {
        return Err(libc::EINVAL);
    }
    let namelen = (namelen as usize).min(SOCKADDR_STORAGE);
    let iov = u64_at(b, 16);
    let iovlen = u64_at(b, 24);
    if iovlen > UIO_MAXIOV as u64 {
        return Err(libc::EMSGSIZE);
    }
    let control = u64_at(b, 32);
    let controllen = u64_at(b, 40);
    if controllen > MAX_CONTROL as u64 {
        return Err(libc::ENOBUFS);
    }
    Ok(MsgHdr {
        name,
        namelen,
        iov,
        iovlen: iovlen as usize,
        control,
        controllen: controllen as usize,
    })
}

/// The address of entry `i` of an `mmsghdr` array at `base` (`None`: it wraps
/// around the address space, which the kernel answers `EFAULT`).
pub fn mmsg_entry(base: u64, i: usize) -> Option<u64> {
    (i as u64)
        .checked_mul(MMSGHDR as u64)
        .and_then(|off| base.checked_add(off))
}

/// The `msg_len` field of entry `i` (where the count of bytes sent is written).
pub fn mmsg_len_field(base: u64, i: usize) -> Option<u64> {
    mmsg_entry(base, i).and_then(|e| e.checked_add(MSGHDR as u64))
}

/// `sendmmsg`'s `vlen` register: an `unsigned int`, clamped to [`UIO_MAXIOV`].
pub fn mmsg_vlen(reg: u64) -> usize {
    (reg as u32 as usize).min(UIO_MAXIOV)
}

/// One `struct iovec`, its length clamped so that the running total never
/// exceeds [`MAX_RW_COUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iov {
    /// The buffer's address in the agent.
    pub base: u64,
    /// Its length, clamped.
    pub len: usize,
}

/// Parses an array of `struct iovec` (its length a multiple of [`IOVEC`]; a
/// partial trailing entry is ignored). `EINVAL` for a negative length, as
/// `__import_iovec`; lengths are clamped to [`MAX_RW_COUNT`] in total.
pub fn parse_iovecs(b: &[u8]) -> Result<Vec<Iov>, Errno> {
    let mut out = Vec::with_capacity((b.len() / IOVEC).min(UIO_MAXIOV));
    let mut total: usize = 0;
    for c in b.chunks_exact(IOVEC) {
        let base = u64_at(c, 0);
        let len = u64_at(c, 8);
        if (len as i64) < 0 {
            return Err(libc::EINVAL);
        }
        let len = (len as usize).min(MAX_RW_COUNT - total);
        total += len;
        out.push(Iov { base, len });
    }
    Ok(out)
}

/// One control message: where its header starts in the buffer, its `cmsg_len`
/// (header included; `off + len` never exceeds the buffer), level and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cmsg {
    /// Where the header starts in the buffer.
    pub off: usize,
    /// `cmsg_len`, header included.
    pub len: usize,
    /// `cmsg_level`
    pub level: i32,
    /// `cmsg_type`
    pub ty: i32,
}

impl Cmsg {
    /// The range of its data in the buffer.
    pub fn data(&self) -> std::ops::Range<usize> {
        self.off + CMSG_HDR..self.off + self.len
    }
}

/// `CMSG_ALIGN` (`None` when it would overflow).
pub fn cmsg_align(len: usize) -> Option<usize> {
    len.checked_add(7).map(|l| l & !7)
}

/// Walks a control buffer as `for_each_cmsghdr` does: a header fits or the walk
/// ends (trailing bytes shorter than a header are ignored, as is a buffer shorter
/// than one header); each `cmsg_len` is at least a header and at most what
/// remains (`CMSG_OK`, else `EINVAL`); the next header is `CMSG_ALIGN(cmsg_len)`
/// further on. Every step advances by at least [`CMSG_HDR`], so the loop ends.
pub fn parse_cmsgs(b: &[u8]) -> Result<Vec<Cmsg>, Errno> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while b.len().checked_sub(off).is_some_and(|room| room >= CMSG_HDR) {
        let remaining = b.len() - off;
        let len = u64_at(b, off);
        if len < CMSG_HDR as u64 || len > remaining as u64 {
            return Err(libc::EINVAL);
        }
        let len = len as usize;
        out.push(Cmsg {
            off,
            len,
            level: u32_at(b, off + 8) as i32,
            ty: u32_at(b, off + 12) as i32,
        });
        // len <= remaining, so off + CMSG_ALIGN(len) <= b.len() + 7: no overflow.
        match cmsg_align(len).and_then(|a| off.checked_add(a)) {
            Some(next) => off = next,
            None => break,
        }
    }
    Ok(out)
}

/// The offsets of every descriptor slot of the `SCM_RIGHTS` messages in a parsed
/// control buffer (`(cmsg_len - header) / 4` per message, as `scm_fp_copy`),
/// `EINVAL` past [`SCM_MAX_FD`] in all.
pub fn rights_slots(cmsgs: &[Cmsg]) -> Result<Vec<usize>, Errno> {
    let mut slots = Vec::new();
    for c in cmsgs
        .iter()
        .filter(|c| c.level == libc::SOL_SOCKET && c.ty == libc::SCM_RIGHTS)
    {
        let n = (c.len - CMSG_HDR) / 4;
        if slots.len() + n > SCM_MAX_FD {
            return Err(libc::EINVAL);
        }
        slots.extend((0..n).map(|i| c.off + CMSG_HDR + 4 * i));
    }
    Ok(slots)
}

/// The address-length register of `sendto`, `connect` and `bind`: an `int`;
/// `EINVAL` if negative or larger than `sockaddr_storage` (`move_addr_to_kernel`).
pub fn addr_len(reg: u64) -> Result<usize, Errno> {
    let len = reg as u32 as i32;
    if len < 0 || len as usize > SOCKADDR_STORAGE {
        return Err(libc::EINVAL);
    }
    Ok(len as usize)
}

/// `openat2`'s size register: `EINVAL` below version 0, `E2BIG` above a page.
pub fn open_how_size(reg: u64) -> Result<usize, Errno> {
    if reg < OPEN_HOW_VER0 as u64 {
        return Err(libc::EINVAL);
    }
    if reg > OPEN_HOW_MAX as u64 {
        return Err(libc::E2BIG);
    }
    Ok(reg as usize)
}

/// A `struct open_how`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenHow {
    /// The open flags.
    pub flags: u64,
    /// The mode for a created file.
    pub mode: u64,
    /// The `RESOLVE_*` flags.
    pub resolve: u64,
}

/// Every `RESOLVE_*` flag this kernel knows (`RESOLVE_CACHED` is the last).
const RESOLVE_ALL: u64 = 0x3f;

/// Parses an `open_how` of the size the agent gave (see [`open_how_size`]):
/// bytes past the known structure must be zero (`copy_struct_from_user`,
/// `E2BIG`); flags beyond 32 bits, unknown `RESOLVE_*` flags, a mode with bits
/// beyond `07777` or a mode without `O_CREAT`/`O_TMPFILE` are `EINVAL`
/// (`build_open_flags`).
pub fn parse_open_how(b: &[u8]) -> Result<OpenHow, Errno> {
    if b.len() < OPEN_HOW_VER0 {
        return Err(libc::EINVAL);
    }
    if b[OPEN_HOW_VER0..].iter().any(|&x| x != 0) {
        return Err(libc::E2BIG);
    }
    let how = OpenHow {
        flags: u64_at(b, 0),
        mode: u64_at(b, 8),
        resolve: u64_at(b, 16),
    };
    if how.flags >> 32 != 0 || how.resolve & !RESOLVE_ALL != 0 || how.mode & !0o7777 != 0 {
        return Err(libc::EINVAL);
    }
    let creates =
        how.flags & libc::O_CREAT as u64 != 0 || how.flags & libc::O_TMPFILE as u64 == libc::O_TMPFILE as u64;
    if how.mode != 0 && !creates {
        return Err(libc::EINVAL);
    }
    Ok(how)
}

/// A `struct timeval[2]` (`utimes`, `futimesat`) as the `timespec` pair the
/// monitor passes on; `EINVAL` for microseconds outside `0..1_000_000`.
pub fn timevals(b: &[u8]) -> Result<[libc::timespec; 2], Errno> {
    if b.len() < 32 {
        return Err(libc::EFAULT);
    }
    let one = |at: usize| {
        let sec = u64_at(b, at) as i64;
        let usec = u64_at(b, at + 8) as i64;
        if !(0..1_000_000).contains(&usec) {
            return Err(libc::EINVAL);
        }
        Ok(libc::timespec {
            tv_sec: sec,
            tv_nsec: usec * 1000,
        })
    };
    Ok([one(0)?, one(16)?])
}

/// readlink's `bufsiz` register: an `int`, `EINVAL` unless positive; at most
/// `PATH_MAX` bytes are ever needed.
pub fn readlink_size(reg: u64) -> Result<usize, Errno> {
    let size = reg as u32 as i32;
    if size <= 0 {
        return Err(libc::EINVAL);
    }
    Ok((size as usize).min(crate::agent::PATH_MAX))
}

/// An xattr name as read (at most `XATTR_NAME_MAX + 1` bytes looked at): `ERANGE`
/// if empty or too long, as the kernel's `strncpy_from_user` check.
pub fn xattr_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(libc::ERANGE);
    }
    Ok(())
}

/// setxattr's value size: `E2BIG` beyond `XATTR_SIZE_MAX`.
pub fn xattr_set_size(reg: u64) -> Result<usize, Errno> {
    if reg > XATTR_SIZE_MAX as u64 {
        return Err(libc::E2BIG);
    }
    Ok(reg as usize)
}

/// getxattr's and listxattr's buffer size: clamped to `XATTR_SIZE_MAX` (the
/// kernel never returns more).
pub fn xattr_get_size(reg: u64) -> usize {
    reg.min(XATTR_SIZE_MAX as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A control buffer built as a sender would (CMSG_SPACE per message, the
    /// last one possibly unpadded).
    fn build(msgs: &[(i32, i32, Vec<u8>)], pad_last: bool) -> Vec<u8> {
        let mut b = Vec::new();
        for (i, (level, ty, data)) in msgs.iter().enumerate() {
            let len = CMSG_HDR + data.len();
            b.extend_from_slice(&(len as u64).to_ne_bytes());
            b.extend_from_slice(&level.to_ne_bytes());
            b.extend_from_slice(&ty.to_ne_bytes());
            b.extend_from_slice(data);
            if pad_last || i + 1 < msgs.len() {
                b.resize(b.len() + (cmsg_align(len).unwrap() - len), 0);
            }
        }
        b
    }

    fn cmsg_at(b: &mut [u8], off: usize, len: u64) {
        b[off..off + 8].copy_from_slice(&len.to_ne_bytes());
    }

    #[test]
    fn the_known_hostile_buffers_are_refused_not_looped_on() {
        let mut b = build(
            &[
                (libc::SOL_SOCKET, libc::SCM_RIGHTS, vec![0; 4]),
                (0, 0, vec![0; 8]),
            ],
            true,
        );
        // The bug: a second cmsg_len of 2^64-1 wrapped `off + len` and
        // CMSG_ALIGN to 0, and the walk never advanced.
        cmsg_at(&mut b, 24, u64::MAX);
        assert_eq!(parse_cmsgs(&b), Err(libc::EINVAL));
        for bad in [0, 8, 15, u64::MAX - 6, 1 << 63] {
            cmsg_at(&mut b, 24, bad);
            assert_eq!(parse_cmsgs(&b), Err(libc::EINVAL), "{bad}");
        }
        // Trailing bytes shorter than a header end the walk.
        let mut t = build(&[(libc::SOL_SOCKET, libc::SCM_RIGHTS, vec![0; 4])], false);
        t.extend_from_slice(&[0xff; 12]);
        assert_eq!(parse_cmsgs(&t).map(|c| c.len()), Ok(1));
        assert_eq!(parse_cmsgs(&[0xff; 15]), Ok(vec![]));
        // 254 descriptors are too many (SCM_MAX_FD).
        let many = build(&[(libc::SOL_SOCKET, libc::SCM_RIGHTS, vec![0; 4 * 254])], true);
        assert_eq!(rights_slots(&parse_cmsgs(&many).unwrap()), Err(libc::EINVAL));
        let ok = build(&[(libc::SOL_SOCKET, libc::SCM_RIGHTS, vec![0; 4 * 253])], true);
        assert_eq!(rights_slots(&parse_cmsgs(&ok).unwrap()).map(|s| s.len()), Ok(253));
    }

    #[test]
    fn msghdr_limits_are_the_kernels() {
        let mut h = [0u8; MSGHDR];
        h[0..8].copy_from_slice(&0x1000u64.to_ne_bytes());
        h[8..12].copy_from_slice(&200u32.to_ne_bytes());
        assert_eq!(parse_msghdr(&h).unwrap().namelen, SOCKADDR_STORAGE, "clamped");
        h[8..12].copy_from_slice(&0x8000_0000u32.to_ne_bytes());
        assert_eq!(parse_msghdr(&h), Err(libc::EINVAL));
        h[8..12].copy_from_slice(&16u32.to_ne_bytes());
        h[24..32].copy_from_slice(&1025u64.to_ne_bytes());
        assert_eq!(parse_msghdr(&h), Err(libc::EMSGSIZE));
        h[24..32].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert_eq!(parse_msghdr(&h), Err(libc::EMSGSIZE));
        h[24..32].copy_from_slice(&1u64.to_ne_bytes());
        h[40..48].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert_eq!(parse_msghdr(&h), Err(libc::ENOBUFS));
        assert_eq!(parse_msghdr(&h[..40]), Err(libc::EFAULT));
        assert_eq!(mmsg_entry(u64::MAX - 10, 1), None);
        assert_eq!(mmsg_vlen(u64::MAX), UIO_MAXIOV);
        assert_eq!(mmsg_vlen(1 << 32), 0, "an unsigned int register");
    }

    #[test]
    fn iovec_lengths_are_checked_and_clamped() {
        let iov = |len: u64| [0x1000u64.to_ne_bytes(), len.to_ne_bytes()].concat();
        assert_eq!(parse_iovecs(&iov(u64::MAX)), Err(libc::EINVAL));
        let two = [iov(1 << 40), iov(1 << 40)].concat();
        let v = parse_iovecs(&two).unwrap();
        assert_eq!(v[0].len, MAX_RW_COUNT);
        assert_eq!(v[1].len, 0);
    }

    #[test]
    fn small_registers_are_read_as_the_kernel_reads_them() {
        assert_eq!(addr_len(200), Err(libc::EINVAL));
        assert_eq!(addr_len((1 << 32) | 16), Ok(16), "an int register");
        assert_eq!(addr_len(0xffff_ffff), Err(libc::EINVAL));
        assert_eq!(open_how_size(23), Err(libc::EINVAL));
        assert_eq!(open_how_size(5000), Err(libc::E2BIG));
        let mut how = vec![0u8; 40];
        assert!(parse_open_how(&how).is_ok());
        how[30] = 1;
        assert_eq!(parse_open_how(&how), Err(libc::E2BIG));
        how[30] = 0;
        how[5] = 1; // flags bit 40
        assert_eq!(parse_open_how(&how), Err(libc::EINVAL));
        how[5] = 0;
        how[8] = 0o44; // a mode without O_CREAT
        assert_eq!(parse_open_how(&how), Err(libc::EINVAL));
        let tv = |usec: i64| [0i64.to_ne_bytes(), usec.to_ne_bytes(), [0; 8], [0; 8]].concat();
        assert!(timevals(&tv(999_999)).is_ok());
        for bad in [1_000_000, -1, i64::MAX, i64::MIN] {
            assert_eq!(timevals(&tv(bad)).map(|_| ()), Err(libc::EINVAL), "{bad}");
        }
        assert_eq!(readlink_size(1 << 32), Err(libc::EINVAL));
        assert_eq!(readlink_size((1 << 32) + 5), Ok(5));
        assert_eq!(readlink_size(u64::MAX), Err(libc::EINVAL));
        assert_eq!(xattr_name(b""), Err(libc::ERANGE));
        assert_eq!(xattr_name(&[b'a'; 256]), Err(libc::ERANGE));
        assert_eq!(xattr_set_size(65537), Err(libc::E2BIG));
        assert_eq!(xattr_get_size(u64::MAX), XATTR_SIZE_MAX);
    }

    fn cmsg_strategy() -> impl Strategy<Value = (i32, i32, Vec<u8>)> {
        (
            prop_oneof![Just(libc::SOL_SOCKET), any::<i32>()],
            prop_oneof![Just(libc::SCM_RIGHTS), any::<i32>()],
            proptest::collection::vec(any::<u8>(), 0..64),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Arbitrary bytes: the walk ends, never panics, and what it returns lies
        /// inside the buffer, in order, without overlapping.
        #[test]
        fn any_control_buffer_is_walked_within_bounds(b in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(cmsgs) = parse_cmsgs(&b) {
                let mut end = 0;
                for c in &cmsgs {
                    prop_assert!(c.off >= end && c.len >= CMSG_HDR);
                    prop_assert!(c.off + c.len <= b.len());
                    end = c.off + c.len;
                }
                if let Ok(slots) = rights_slots(&cmsgs) {
                    prop_assert!(slots.len() <= SCM_MAX_FD);
                    prop_assert!(slots.iter().all(|&s| s + 4 <= b.len()));
                }
            }
        }

        /// Arbitrary bytes with hostile lengths planted at header positions (the
        /// random bytes rarely make a plausible header on their own).
        #[test]
        fn planted_lengths_never_hang_the_walk(
            msgs in proptest::collection::vec(cmsg_strategy(), 1..5),
            at in 0usize..5,
            len in prop_oneof![Just(u64::MAX), Just(0u64), any::<u64>(), 0u64..64],
        ) {
            let mut b = build(&msgs, true);
            let offs: Vec<usize> = parse_cmsgs(&b).unwrap().iter().map(|c| c.off).collect();
            let off = offs[at % offs.len()];
            cmsg_at(&mut b, off, len);
            let r = parse_cmsgs(&b);
            if len < CMSG_HDR as u64 || len > (b.len() - off) as u64 {
                prop_assert_eq!(r, Err(libc::EINVAL));
            }
        }

        /// A buffer built as senders build it comes back as built.
        #[test]
        fn well_formed_control_buffers_round_trip(
            msgs in proptest::collection::vec(cmsg_strategy(), 0..6),
            pad_last in any::<bool>(),
        ) {
            let b = build(&msgs, pad_last);
            let got = parse_cmsgs(&b).unwrap();
            prop_assert_eq!(got.len(), msgs.len());
            for (c, (level, ty, data)) in got.iter().zip(&msgs) {
                prop_assert_eq!((c.level, c.ty), (*level, *ty));
                prop_assert_eq!(&b[c.data()], &data[..]);
            }
            let rights: usize = msgs
                .iter()
                .filter(|(l, t, _)| *l == libc::SOL_SOCKET && *t == libc::SCM_RIGHTS)
                .map(|(_, _, d)| d.len() / 4)
                .sum();
            prop_assert_eq!(rights_slots(&got).map(|s| s.len()), Ok(rights));
        }

        #[test]
        fn any_msghdr_parses_within_the_kernels_limits(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(h) = parse_msghdr(&b) {
                prop_assert!(h.namelen <= SOCKADDR_STORAGE);
                prop_assert!(h.iovlen <= UIO_MAXIOV);
                prop_assert!(h.controllen <= MAX_CONTROL);
            }
        }

        #[test]
        fn any_iovec_array_totals_at_most_max_rw_count(b in proptest::collection::vec(any::<u8>(), 0..(IOVEC * 40))) {
            if let Ok(v) = parse_iovecs(&b) {
                prop_assert_eq!(v.len(), b.len() / IOVEC);
                let total = v.iter().try_fold(0usize, |t, i| t.checked_add(i.len));
                prop_assert!(total.is_some_and(|t| t <= MAX_RW_COUNT));
            }
        }

        #[test]
        fn any_small_struct_or_register_is_total(
            b in proptest::collection::vec(any::<u8>(), 0..64),
            reg in any::<u64>(),
            base in any::<u64>(),
            i in 0usize..2048,
        ) {
            let _ = parse_open_how(&b);
            let _ = timevals(&b);
            let _ = xattr_name(&b);
            let _ = (addr_len(reg), open_how_size(reg), readlink_size(reg), xattr_set_size(reg));
            prop_assert!(readlink_size(reg).is_ok_and(|s| s <= crate::agent::PATH_MAX) || readlink_size(reg).is_err());
            prop_assert!(xattr_get_size(reg) <= XATTR_SIZE_MAX);
            prop_assert!(mmsg_vlen(reg) <= UIO_MAXIOV);
            if let Some(e) = mmsg_len_field(base, i) {
                prop_assert!(e >= base);
            }
            if let Ok(t) = timevals(&b) {
                prop_assert!(t.iter().all(|t| (0..1_000_000_000).contains(&t.tv_nsec)));
            }
        }
    }
}
