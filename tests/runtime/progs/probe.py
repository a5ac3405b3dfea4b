# The file conformance probe: performs one path syscall per line of standard input
# and prints one line per request, `ok` or `errno=N`. Syscalls are made by number
# (x86_64) through libc's syscall(), so each request is exactly the syscall the
# conformance test asks `clawc explain` about.
#
# A request: OP <TAB> FLAGS <TAB> PATH [<TAB> SECOND]. FLAGS is a number (open
# flags, access mode, AT_* flags), 0 where the call takes none. `openat_pfd` is
# `openat` relative to an O_PATH descriptor of PATH's parent.
import ctypes
import os
import sys

NR = {
    "open": 2, "stat": 4, "lstat": 6, "access": 21, "execve": 59, "truncate": 76,
    "rename": 82, "mkdir": 83, "rmdir": 84, "creat": 85, "link": 86, "unlink": 87,
    "symlink": 88, "readlink": 89, "chmod": 90, "chown": 92, "lchown": 94,
    "openat": 257, "newfstatat": 262, "unlinkat": 263, "linkat": 265, "utimensat": 280, "statx": 332, "faccessat2": 439,
}
AT_FDCWD = -100
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
buf = ctypes.create_string_buffer(4096)
L = ctypes.c_long


def sc(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(L(NR[name]), *args)
    return r, ctypes.get_errno()


def run(op, flags, a, b):
    p = a.encode()
    q = b.encode()
    if op == "open":
        r, e = sc(op, p, L(flags), L(0o644))
    elif op == "openat":
        r, e = sc(op, L(AT_FDCWD), p, L(flags), L(0o644))
    elif op == "openat_pfd":
        # openat relative to an O_PATH descriptor of the parent (`/`: `.` in `/`).
        d, n = ("/", ".") if a == "/" else os.path.split(a)
        try:
            pfd = os.open(d, os.O_PATH | os.O_DIRECTORY)
        except OSError as x:
            return "errno=%d" % x.errno
        r, e = sc("openat", L(pfd), n.encode(), L(flags), L(0o644))
        os.close(pfd)
    elif op == "creat":
        r, e = sc(op, p, L(0o644))
    elif op in ("stat", "lstat"):
        r, e = sc(op, p, buf)
    elif op == "newfstatat":
        r, e = sc(op, L(AT_FDCWD), p, buf, L(flags))
    elif op == "statx":
        r, e = sc(op, L(AT_FDCWD), p, L(flags), L(0xFFF), buf)
    elif op == "faccessat2":
        r, e = sc(op, L(AT_FDCWD), p, L(0), L(flags))
    elif op == "utimensat":
        r, e = sc(op, L(AT_FDCWD), p, None, L(flags))
    elif op in ("chown", "lchown"):
        r, e = sc(op, p, L(0), L(0))
    elif op == "access":
        r, e = sc(op, p, L(flags))
    elif op == "readlink":
        r, e = sc(op, p, buf, L(4096))
    elif op == "chmod":
        r, e = sc(op, p, L(0o755))
    elif op == "truncate":
        r, e = sc(op, p, L(0))
    elif op == "mkdir":
        r, e = sc(op, p, L(0o755))
    elif op in ("rmdir", "unlink"):
        r, e = sc(op, p)
    elif op == "unlinkat":
        r, e = sc(op, L(AT_FDCWD), p, L(flags))
    elif op == "linkat":
        r, e = sc(op, L(AT_FDCWD), p, L(AT_FDCWD), q, L(flags))
    elif op in ("rename", "link"):
        r, e = sc(op, p, q)
    elif op == "symlink":
        r, e = sc(op, q, p)  # symlink(target, linkpath): PATH is the new link
    elif op == "execve":
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rd)
            argv = (ctypes.c_char_p * 2)(p, None)
            envp = (ctypes.c_char_p * 1)(None)
            _, e = sc(op, p, argv, envp)
            os.write(wr, str(e).encode())
            os._exit(0)
        os.close(wr)
        told = os.read(rd, 64)
        os.close(rd)
        _, status = os.waitpid(pid, 0)
        if told:
            return "errno=%d" % int(told)
        return "ok" if os.waitstatus_to_exitcode(status) == 0 else "exit=%d" % status
    else:
        return "bad-op"
    if r < 0:
        return "errno=%d" % e
    if op in ("open", "openat", "openat_pfd", "creat"):
        os.close(r)
    return "ok"


for line in sys.stdin:
    parts = line.rstrip("\n").split("\t")
    op, flags, a = parts[0], int(parts[1]), parts[2]
    b = parts[3] if len(parts) > 3 else ""
    print(run(op, flags, a, b), flush=True)
print("probe: done", flush=True)
