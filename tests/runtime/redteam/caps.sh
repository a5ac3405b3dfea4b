#!/bin/sh
# Finding 2: a root agent keeps every capability; allowed ioctls on read-only
# descriptors then change files outside the policy (FS_IOC_SETFLAGS append/immutable
# on ~/.bashrc or /etc/passwd), and the same caps reach FIFREEZE (freeze /),
# SIOCSIFFLAGS / netlink writes (host network), setsockopt(IPT_SO_SET_REPLACE).
set -e
D=$(cd "$(dirname "$0")" && pwd); BIN=${BIN:-$D/../target/debug/clawless}
mkdir -p /root/ws1 && cd /root/ws1 && gcc -o probe "$D/caps_probe.c" 2>/dev/null
touch /root/.bashrc
timeout 20 "$BIN" exec -- ./probe /root/.bashrc   # before the fix: "setflags append: 0"
