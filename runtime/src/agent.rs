//! Reading and writing a sandboxed thread's memory and descriptors, and the facts
//! about it the monitor needs (thread group, umask). Every read here is followed by
//! a `NOTIF_ID_VALID` check by the caller before its result is trusted.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The largest path the kernel accepts (`PATH_MAX`, including the NUL).
pub const PATH_MAX: usize = 4096;

fn cvt(r: libc::c_long) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// The first read of a string (see [`read_cstr`]).
const FIRST_READ: usize = 256;

/// The most any one read of agent memory asks for: every caller bounds its
/// length by the kernel's own limit first (a send's data, a control buffer, an
/// xattr value); this is the backstop against a length taken from the agent.
pub const MAX_READ: usize = 2 << 20;

/// `addr + off` in the agent's address space; a range that wraps around it is
/// the kernel's `EFAULT`.
fn offset(addr: u64, off: usize, len: usize) -> io::Result<u64> {
    (off as u64)
        .checked_add(len as u64)
        .and_then(|end| addr.checked_add(end))
        .map(|_| addr + off as u64)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EFAULT))
}

/// Reads `len` bytes at `addr` in thread `tid`'s address space (all or an error).
pub fn read_mem(tid: u32, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    if len > MAX_READ {
        return Err(io::Error::from_raw_os_error(libc::ENOMEM));
    }
    offset(addr, 0, len)?;
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let local = libc::iovec {
            iov_base: buf[done..].as_mut_ptr().cast(),
            iov_len: len - done,
        };
        let remote = libc::iovec {
            iov_base: offset(addr, done, len - done)? as *mut libc::c_void,
            iov_len: len - done,
        };
        // SAFETY: `local` covers our own buffer; the kernel checks `remote`.
        let n = cvt(unsafe { libc::process_vm_readv(tid as i32, &local, 1, &remote, 1, 0) } as libc::c_long)?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        done += n;
    }
    Ok(buf)
}

/// Reads a NUL-terminated string of at most `max` bytes (without the NUL), a page at
/// a time so that a string ending just before an unmapped page is still read.
/// `ENAMETOOLONG` if no NUL comes within `max`.
pub fn read_cstr(tid: u32, addr: u64, max: usize) -> io::Result<Vec<u8>> {
    if addr == 0 {
        return Err(io::Error::from_raw_os_error(libc::EFAULT));
    }
    let mut out = Vec::new();
    let mut at = addr;
    // Most paths are short: the first read asks for a few hundred bytes, not the
    // rest of the page.
    let mut want = FIRST_READ;
    while out.len() < max {
        let to_page_end = 4096 - (at % 4096) as usize;
        let chunk = read_mem(tid, at, to_page_end.min(want).min(max - out.len()))?;
        want = PATH_MAX;
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk);
        at = offset(at, chunk.len(), 0)?;
    }
    Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG))
}

/// Writes `bytes` at `addr` in thread `tid`'s address space. Honours page
/// protections, as the kernel's own copy-out would.
pub fn write_mem(tid: u32, addr: u64, bytes: &[u8]) -> io::Result<()> {
    offset(addr, 0, bytes.len())?;
    let mut done = 0;
    while done < bytes.len() {
        let local = libc::iovec {
            iov_base: bytes[done..].as_ptr() as *mut libc::c_void,
            iov_len: bytes.len() - done,
        };
        let remote = libc::iovec {
            iov_base: offset(addr, done, bytes.len() - done)? as *mut libc::c_void,
            iov_len: bytes.len() - done,
        };
        // SAFETY: `local` covers our own buffer; the kernel checks `remote`.
        let n =
            cvt(unsafe { libc::process_vm_writev(tid as i32, &local, 1, &remote, 1, 0) } as libc::c_long)?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        done += n;
    }
    Ok(())
}

/// Writes a plain-old-data value (a `struct stat`, a `statx`...) to the agent.
pub fn write_struct<T: Copy>(tid: u32, addr: u64, value: &T) -> io::Result<()> {
    // SAFETY: T is Copy plain data; we only read its bytes.
    let bytes =
        unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>()) };
    write_mem(tid, addr, bytes)
}

/// Reads a plain-old-data value from the agent.
pub fn read_struct<T: Copy>(tid: u32, addr: u64) -> io::Result<T> {
    let bytes = read_mem(tid, addr, std::mem::size_of::<T>())?;
    // SAFETY: the buffer has exactly size_of::<T>() bytes; T is plain data for
    // which every bit pattern is valid (kernel ABI structs of integers).
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// A field of `/proc/<tid>/status`.
fn status_field(tid: u32, field: &str) -> io::Result<String> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/status"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_string()))
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
}

/// Would a signal handler of thread `tid` run if its syscall returned now? A
/// signal pending for the thread or its process (`SigPnd`, `ShdPnd`) that it
/// neither blocks (`SigBlk`) nor leaves to its default action (`SigCgt`: caught).
/// Fatal and ignored signals need no help: the kernel kills, or nothing happens.
pub fn handler_pending(tid: u32) -> bool {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        return false;
    };
    let mask = |field: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let pending = mask("SigPnd:") | mask("ShdPnd:");
    pending & !mask("SigBlk:") & mask("SigCgt:") != 0
}

/// The process (thread group) a thread belongs to.
pub fn tgid_of(tid: u32) -> io::Result<u32> {
    status_field(tid, "Tgid:")?
        .parse()
        .map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))
}

/// The thread's umask, applied to files the monitor creates for it.
pub fn umask_of(tid: u32) -> u32 {
    status_field(tid, "Umask:")
        .ok()
        .and_then(|v| u32::from_str_radix(&v, 8).ok())
        .unwrap_or(0o022)
}

/// A duplicate of descriptor `fd` of process `tgid` (`pidfd_getfd`), sharing the
/// open file: acting on it acts on the agent's socket.
pub fn take_fd(tgid: u32, fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: integer-argument syscalls (no memory passed); each descriptor they
    // return is new, checked by `cvt`, and owned by exactly one OwnedFd.
    unsafe {
        let pidfd = cvt(libc::syscall(libc::SYS_pidfd_open, tgid as libc::pid_t, 0))? as i32;
        let pidfd = OwnedFd::from_raw_fd(pidfd);
        use std::os::fd::AsRawFd;
        let dup = cvt(libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0))? as i32;
        Ok(OwnedFd::from_raw_fd(dup))
    }
}

/// A duplicate of descriptor `fd` of the thread `tid` itself (its own table,
/// which is its process's unless it unshared it: the table the syscall it made
/// names descriptors in), without looking up its process in `/proc`
/// (`pidfd_open` with `PIDFD_THREAD`, Linux 6.9; older kernels: [`take_fd`]
/// of its process).
pub fn take_thread_fd(tid: u32, fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: integer-argument syscalls (no memory passed); each descriptor they
    // return is new, checked before use, and owned by exactly one OwnedFd.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, tid as libc::pid_t, libc::PIDFD_THREAD);
        if pidfd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            return take_fd(tgid_of(tid)?, fd);
        }
        let pidfd = OwnedFd::from_raw_fd(cvt(pidfd)? as i32);
        use std::os::fd::AsRawFd;
        let dup = cvt(libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0))? as i32;
        Ok(OwnedFd::from_raw_fd(dup))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_tid() -> u32 {
        // SAFETY: gettid takes nothing and cannot fail.
        unsafe { libc::gettid() as u32 }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Strings of any bytes placed anywhere before an unmapped page, and
        /// addresses anywhere (the top of memory, wrapping ranges): the string, or
        /// EFAULT/ENAMETOOLONG, never a panic or a read past the page.
        #[test]
        fn any_string_before_an_unmapped_page_reads_exactly(
            body in proptest::collection::vec(1u8..=255, 0..5000),
            nul in proptest::bool::ANY,
            wild in proptest::prelude::any::<u64>(),
            len in 0usize..64,
        ) {
            const SPAN: usize = 3 * 4096;
            // SAFETY: a private anonymous mapping, its last page made inaccessible.
            let map = unsafe {
                libc::mmap(std::ptr::null_mut(), SPAN + 4096, libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
            };
            proptest::prop_assert!(map != libc::MAP_FAILED);
            // SAFETY: `map` is the mapping of SPAN + 4096 bytes made above, so its last
            // page starts at offset SPAN inside it.
            unsafe { libc::mprotect(map.cast::<u8>().add(SPAN).cast(), 4096, libc::PROT_NONE) };
            let mut s = body.clone();
            s.truncate(SPAN - 1);
            if nul { s.push(0); }
            let at = SPAN - s.len();
            // SAFETY: at + s.len() == SPAN, inside the writable part.
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), map.cast::<u8>().add(at), s.len()) };
            let r = read_cstr(own_tid(), map as u64 + at as u64, PATH_MAX);
            let want_len = s.len() - usize::from(nul);
            match r {
                Ok(got) => {
                    proptest::prop_assert!(nul && want_len < PATH_MAX);
                    proptest::prop_assert_eq!(&got[..], &s[..want_len]);
                }
                Err(e) => {
                    let e = e.raw_os_error();
                    proptest::prop_assert!(
                        (!nul && want_len < PATH_MAX && e == Some(libc::EFAULT))
                            || (want_len >= PATH_MAX && e == Some(libc::ENAMETOOLONG)),
                        "{:?} for a string of {} (nul {})", e, want_len, nul
                    );
                }
            }
            // Anywhere at all: an answer, never a panic.
            let _ = read_cstr(own_tid(), wild, PATH_MAX);
            let _ = read_mem(own_tid(), wild, len);
            let _ = read_mem(own_tid(), u64::MAX - (len as u64 / 2), len);
            // SAFETY: the mapping made above.
            unsafe { libc::munmap(map, SPAN + 4096) };
        }
    }

    #[test]
    fn reads_strings_longer_than_the_first_read_and_up_to_the_limit() {
        for len in [
            0,
            5,
            FIRST_READ - 1,
            FIRST_READ,
            FIRST_READ + 1,
            3000,
            PATH_MAX - 1,
        ] {
            let s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let c = std::ffi::CString::new(s.clone()).unwrap();
            let got = read_cstr(own_tid(), c.as_ptr() as u64, PATH_MAX).unwrap();
            assert_eq!(got, s, "length {len}");
        }
        let long = std::ffi::CString::new(vec![b'x'; PATH_MAX]).unwrap();
        let e = read_cstr(own_tid(), long.as_ptr() as u64, PATH_MAX).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG));
        assert_eq!(
            read_cstr(own_tid(), 0, PATH_MAX).unwrap_err().raw_os_error(),
            Some(libc::EFAULT)
        );
    }
}
