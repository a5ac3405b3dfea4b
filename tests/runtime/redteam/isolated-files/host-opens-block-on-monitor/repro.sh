#!/bin/bash
# Host impact: tripwires are inode marks on system files too (/etc/shadow, /etc/gshadow,
# /etc/ssh/ssh_host_*_key, any .env under /usr,/etc,/opt,/tmp,...). Every host process's open of
# them waits for clawless's single claw-tripwires thread.
set -u; . /work/wt/redteam/findings/common.sh
D=$RT/findings/host-opens-block-on-monitor; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $D/hostlat $D/hostlat.c; gcc -O1 -o $W/flood $D/flood.c 2>/dev/null
echo "== 1. clawless stopped (Ctrl-Z / SIGSTOP / frozen cgroup / debugger)"
(cd $W; env HOME=$H PATH=/usr/bin:/bin $CLAW exec --policy $POLICY --workspace $W -- /bin/sleep 20 >/dev/null 2>&1 & echo $! > $D/claw.pid); sleep 4
P=$(cat $D/claw.pid); echo "clawless pid $P: $(cat /proc/$P/comm)"; timeout 3 head -c1 /etc/shadow >/dev/null; echo "host open of /etc/shadow, running: rc=$?"
kill -STOP $P; timeout 3 head -c1 /etc/shadow >/dev/null; echo "host open of /etc/shadow, clawless stopped: rc=$? (124 = blocked for the whole 3 s)"
kill -CONT $P; sleep 0.3; timeout 3 head -c1 /etc/shadow >/dev/null; echo "after SIGCONT: rc=$?"; wait
echo "== 2. agent floods opens of /etc/shadow from 16 processes (tainted, still answered one by one)"
$D/hostlat /etc/shadow
(run $H $W ./flood 16 10 /etc/shadow >/dev/null 2>&1 &); sleep 4; $D/hostlat /etc/shadow; sleep 8
