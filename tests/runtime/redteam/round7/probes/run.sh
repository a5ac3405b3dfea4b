#!/bin/bash
# The cgroup probes of HELD.md: writes to the cgroup files by every path tried, and
# the syscalls that could leave or outlast the freeze (U=1: io_uring_setup, P=1: ptrace).
set -u; . "$(dirname "$0")/../common.sh"
D=$R7/probes; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -o $W/syscalls $D/syscalls.c; cp $D/cgroup-writes.sh $W/
echo "MARKER: round7 cgroup probes"
echo "== kernel-decided opens"; run $H $W sh ./cgroup-writes.sh 2>&1
echo "== mediated opens"; runmed $H $W sh ./cgroup-writes.sh 2>&1
for e in X U P; do echo "== syscalls $e"; (cd $W && env -u XDG_CACHE_HOME $e=1 HOME=$H PATH=/usr/bin:/bin CLAWLESS_KERNEL_OPENS=1 timeout 60 $CLAW exec --mode isolated --workspace $W -- ./syscalls 2>&1); done
