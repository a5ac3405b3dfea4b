#!/bin/bash
# A `.env` at the bottom of a very deep directory chain in the workspace (made by the
# user before the session, or by an earlier session: each level is an ordinary mkdir).
set -u; . "$(dirname "$0")/../common.sh"
D=$R4/deep-tree; W=$D/ws H=$D/home; N=${N:-3000}; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -I$R4 -o $W/deepread $D/deepread.c; python3 $D/mk.py $W $N
listen 127.0.0.1 $D/out.txt
echo "== depth $N"; run $H $W ./deepread 127.0.0.1 $N
verdict $D/out.txt SECRET-ENV
