#!/bin/bash
# A secret created by a process outside the sandbox during the session in a
# readable root the watcher does not watch (/etc, /opt: UNWATCHED in discover.rs)
# is never marked: the agent reads it a second after it appears, no taint.
# Control: the same in /tmp (watched) taints.
set -u; . "$(dirname "$0")/../common.sh"
D=$R4/unwatched-root-created-during-session; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -I$R4 -o $W/waitread $R4/waitread.c
listen 127.0.0.1 $D/out.txt
for d in /tmp/rt4w /opt/rt4w /etc/rt4w; do
  rm -rf $d; mkdir -p $d
  echo "== $d/.env created by an outside process 2 s into the session"
  ( sleep 2; echo "SECRET-ENV-$(basename $d)" > $d/.env ) & CPID=$!
  run $H $W ./waitread 127.0.0.1 $d/.env; wait $CPID; rm -rf $d
done
verdict $D/out.txt SECRET-ENV
# control: mediated opens, same /etc case
listen 127.0.0.1 $D/out-mediated.txt
d=/etc/rt4w; rm -rf $d; mkdir -p $d
echo "== control (mediated opens): $d/.env created by an outside process 2 s into the session"
( sleep 2; echo "SECRET-ENV-$(basename $d)" > $d/.env ) & CPID=$!
runmed $H $W ./waitread 127.0.0.1 $d/.env; wait $CPID; rm -rf $d
verdict $D/out-mediated.txt SECRET-ENV
