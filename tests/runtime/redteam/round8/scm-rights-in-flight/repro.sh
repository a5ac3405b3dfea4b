#!/bin/bash
# The file's descriptor in flight in an AF_UNIX SCM_RIGHTS message with no data (a
# 0-byte datagram): the socket answers FIONREAD 0 and the sender is closed, so the late
# mark counts no holder; received back later, it reads what the user wrote into .env.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.78.8.1
D=$R8/scm-rights-in-flight; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/scmhold $D/scmhold.c
outside() { # the user's tool: rename draft to .env, then write the secret into it in place (dd conv=notrunc)
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; [ -e $W/ready ] || return; mv $W/draft $W/.env; sleep 0.5
  printf "SECRET-ENV-$1\n" | dd of=$W/.env conv=notrunc status=none; }
try() { # try MODE
  printf 'draft-draft-draft-draft-draft\n' > $W/draft; rm -f $W/.env $W/ready
  outside $1 & CPID=$!
  CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./scmhold $IP draft 3 $1 2>&1 | grep -v "^clawless: discovery\|walk"; wait $CPID
  echo "--- .env now: $(cat $W/.env)"; }
for mode in ${*:-dgram0 seqpacket0 stream1 hold}; do
  listen $IP $D/out-$mode.txt
  echo "== $mode"; try $mode
  verdict $D/out-$mode.txt SECRET-ENV-$mode
done
