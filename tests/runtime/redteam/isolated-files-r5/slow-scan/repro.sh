#!/bin/bash
# The late-mark scan's length is the agent's to choose: a held descriptor reads the
# secret, and sends it, before the scan that would decide it ends.
set -u; . "$(dirname "$0")/../common.sh"
D=$R5/slow-scan; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/slowscan $D/slowscan.c
outside() { # the user's tool, outside the sandbox: rename draft to .env, write the secret 0.2 s later
  while [ ! -e $W/ready ]; do sleep 0.05; done; mv $W/draft $W/.env; sleep 0.2; printf "SECRET-ENV-$1\n" > $W/.env; }
listen 127.0.0.1 $D/out.txt
for i in 1 2; do
  echo "== try $i: 50 filler processes"; printf 'draft\n' > $W/draft; rm -f $W/.env $W/ready
  outside slow-$i & CPID=$!
  CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./slowscan 127.0.0.1 draft 50 2>&1 | grep -v "^clawless: discovery\|walk"; wait $CPID
done
verdict $D/out.txt SECRET-ENV-slow
listen 127.0.0.1 $D/out-control.txt
echo "== control: no filler"; printf 'draft\n' > $W/draft; rm -f $W/.env $W/ready
outside control & CPID=$!
CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./slowscan 127.0.0.1 draft 0 2>&1 | grep -v "^clawless: discovery\|walk"; wait $CPID
verdict $D/out-control.txt SECRET-ENV-control
