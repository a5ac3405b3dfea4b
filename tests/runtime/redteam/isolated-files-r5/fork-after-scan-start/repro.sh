#!/bin/bash
# A descriptor moved by fork into a process created after the late-mark scan listed
# /proc is never seen by the scan: the secret written later is read untainted.
set -u; . "$(dirname "$0")/../common.sh"
D=$R5/fork-after-scan-start; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/forkhop $D/forkhop.c
outside() { # the user's tool, outside the sandbox: rename draft to .env, write the secret 3 s later (after the scan)
  while [ ! -e $W/ready ]; do sleep 0.05; done; mv $W/draft $W/.env; sleep 3; printf "SECRET-ENV-$1\n" > $W/.env; }
listen 127.0.0.1 $D/out.txt
for i in 1 2; do
  echo "== try $i: 10 fillers, fork 30 ms after the rename"; printf 'draft\n' > $W/draft; rm -f $W/.env $W/ready
  outside hop-$i & CPID=$!
  CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./forkhop 127.0.0.1 draft 10 30 2>&1 | grep -v "^clawless: discovery\|walk\|root\|cached\|armed"; wait $CPID
done
verdict $D/out.txt SECRET-ENV-hop
listen 127.0.0.1 $D/out-control.txt
echo "== control: H keeps its descriptor"; printf 'draft\n' > $W/draft; rm -f $W/.env $W/ready
outside control & CPID=$!
CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./forkhop 127.0.0.1 draft 10 30 nohop 2>&1 | grep -v "^clawless: discovery\|walk\|root\|cached\|armed"; wait $CPID
verdict $D/out-control.txt SECRET-ENV-control
