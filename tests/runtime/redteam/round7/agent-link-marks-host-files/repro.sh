#!/bin/bash
# The agent names a host file `.env` (ln -s /usr/lib/.../libc.so.6 .env): it taints
# itself, and clawless puts a fanotify permission mark on the host's libc: every open
# and exec of it on the host now waits for the tripwires' listener until the run ends.
# Prints the mark found in clawless's fanotify fdinfo (no leak: no channel to show).
set -u; . "$(dirname "$0")/../common.sh"
D=$R7/agent-link-marks-host-files; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
echo "MARKER: round7 agent-link-marks-host-files"
T=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6); INO=$(printf %x $(stat -c %i $T))
echo "target: $T (inode 0x$INO)"
run $H $W /bin/sh -c "ln -s $T .env && echo 'agent: ln -s done'; sleep 4" & RPID=$!
sleep 2.5
for P in $(pgrep -f "workspace $W"); do
  [ "$(readlink /proc/$P/exe)" = "$CLAW" ] || continue
  for f in /proc/$P/fdinfo/*; do grep -q "^fanotify" $f 2>/dev/null || continue
    grep "ino:$INO " $f | sed "s/^/clawless $P marks the host's libc: /"; done
done
t0=$(date +%s%N); for i in $(seq 200); do cat $T > /dev/null; done; t1=$(date +%s%N)
echo "200 host opens of libc during the run: $(( (t1-t0)/1000000 )) ms"
wait $RPID
t0=$(date +%s%N); for i in $(seq 200); do cat $T > /dev/null; done; t1=$(date +%s%N)
echo "200 host opens of libc after the run: $(( (t1-t0)/1000000 )) ms"
