#!/bin/bash
# clawc explain and the runtime disagree on a symlink to a directory whose names
# below are secrets: explain says "allow" (no transition); the monitor refuses it
# (hf.claw: EACCES) or taints (coding_agent). Also on the rename variant: both allow.
set -u; . "$(dirname "$0")/../common.sh"
D=$R8/explain-symlink-below; T=$D/scratch; rm -rf $T; mkdir -p $T/ws/hf $T/home/.cache; echo x > $T/ws/hf/token
CLAWC=$ROOT/target/debug/clawc
echo "MARKER explain-symlink-below"
for pol in std::profiles::coding_agent $R8/refused-link-made-again/hf.claw; do
  echo "== clawc explain $(basename $pol) symlink ws/hf -> ~/.cache/huggingface"
  HOME=$T/home $CLAWC explain $pol --syscall symlink --path $T/ws/hf --path $T/home/.cache/huggingface --env WORKSPACE=$T/ws --env HOME=$T/home --env XDG_CACHE_HOME=$T/home/.cache 2>&1 | grep -v '^note'
done
echo "== clawc explain coding_agent rename ~/.cache/tmplink ~/.cache/huggingface (tmplink -> ws/hf)"
ln -s $T/ws/hf $T/home/.cache/tmplink
HOME=$T/home $CLAWC explain std::profiles::coding_agent --syscall rename --path $T/home/.cache/tmplink --path $T/home/.cache/huggingface --env WORKSPACE=$T/ws --env HOME=$T/home --env XDG_CACHE_HOME=$T/home/.cache 2>&1 | grep -v '^note'
echo "== the runtime on the same symlink (refused-link-made-again's control, plain-mediated; dir-link-renamed-into-place's control):"
grep -h -A0 "Permission denied" $R8/refused-link-made-again/out.log | head -1
grep -h "socket: Operation not permitted" $R8/dir-link-renamed-into-place/out.log | head -1
