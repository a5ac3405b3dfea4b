#!/bin/bash
# A mapping held by a process whose thread-group leader has exited is invisible to the
# late-mark scan (it reads /proc/<pid>/map_files, the leader's, whose mm is gone).
set -u; . "$(dirname "$0")/../common.sh"
D=$R5/zombie-leader-mapping; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -pthread -o $W/zombiemap $D/zombiemap.c
outside() { # the user's tool, outside the sandbox: rename draft to .env, write the secret
  while [ ! -e $W/ready ]; do sleep 0.05; done; mv $W/draft $W/.env; sleep 0.5; printf "SECRET-ENV-$1\n" > $W/.env; }
listen 127.0.0.1 $D/out.txt
for i in 1 2; do
  echo "== try $i: zombie leader"; printf 'draft\n' > $W/draft; rm -f $W/.env $W/ready
  outside zombie-$i & CPID=$!
  run $H $W ./zombiemap 127.0.0.1 draft; wait $CPID
done
verdict $D/out.txt SECRET-ENV-zombie
listen 127.0.0.1 $D/out-control.txt
echo "== control: the main thread stays alive"; printf 'draft\n' > $W/draft; rm -f $W/.env $W/ready
outside control & CPID=$!
run $H $W ./zombiemap 127.0.0.1 draft keep; wait $CPID
verdict $D/out-control.txt SECRET-ENV-control
