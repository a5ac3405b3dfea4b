#!/bin/bash
# The default profile lets the agent write $XDG_CACHE_HOME/** (here ~/.cache), and
# $XDG_CACHE_HOME/huggingface/token is a secret. The agent creates hf/token in the
# workspace, keeps it open, and makes ~/.cache/huggingface -> <ws>/hf: the symlink is
# decided as a read of ~/.cache/huggingface only (documented), not of the existing
# hf/token it now names as the token. `huggingface-cli login` (here: a write of
# ~/.cache/huggingface/token) lands in the agent's file.
# Control: hf-dir-rename (the same, with the directory renamed into place: every
# path below a moving directory is read, tainted, held).
set -u; D=$(cd "$(dirname "$0")" && pwd)
echo "MARKER: round7 dir-symlink-over-secret-tree"
CFGS=${CFGS:-} $D/../naming-probes/probe.sh none hf-dir-rename hf-dir-symlink
