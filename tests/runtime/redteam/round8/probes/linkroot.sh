#!/bin/bash
# Part 2: the cost of a symlink whose naming lists a huge tree (learn_link lists at
# most 4,096 entries): ln -s / ~/.cache/huggingface, 100 times, against an empty dir.
set -u; . "$(dirname "$0")/../common.sh"
D=$R8/probes; W=$D/ws-linkroot H=$D/home-linkroot; rm -rf $W $H; mkdir -p $W/empty $H/.cache
echo "MARKER linkroot"
runmode mediated $H $W bash -c '
  t() { local s=$(date +%s%N); for i in $(seq 100); do ln -s $1 $HOME/.cache/huggingface; rm $HOME/.cache/huggingface; done; echo "100 x ln -s $1 ~/.cache/huggingface + rm: $(( ($(date +%s%N)-s)/1000000 )) ms"; }
  t '$W'/empty; t /; t '$W'/empty' 2>&1 | grep -v "mode"
