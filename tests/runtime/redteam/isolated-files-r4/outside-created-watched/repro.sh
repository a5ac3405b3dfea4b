#!/bin/bash
# Outside processes during the session, in watched trees: a directory holding a `.env`
# moved into the workspace; `mkdir -p ~/.cache/huggingface && write token` in one go
# (huggingface-cli login); a non-secret file renamed to `.env.local` in the workspace.
set -u; . "$(dirname "$0")/../common.sh"
D=$R4/outside-created-watched; W=$D/ws H=$D/home; rm -rf $W $H /tmp/rt4src; mkdir -p $W $H/.cache /tmp/rt4src/proj
gcc -O1 -I$R4 -o $W/waitread $R4/waitread.c
echo "SECRET-ENV-moved-dir" > /tmp/rt4src/proj/.env
listen 127.0.0.1 $D/out.txt
echo "== a directory with .env moved into the workspace"
( sleep 2; mv /tmp/rt4src/proj $W/proj ) & CPID=$!
run $H $W ./waitread 127.0.0.1 proj/.env; wait $CPID
echo "== huggingface token created with its directory"
( sleep 2; mkdir -p $H/.cache/huggingface && echo "SECRET-HF-token" > $H/.cache/huggingface/token ) & CPID=$!
run $H $W ./waitread 127.0.0.1 $H/.cache/huggingface/token; wait $CPID
echo "== a plain file renamed to .env.local"
echo "SECRET-ENV-renamed" > $W/draft.txt
( sleep 2; mv $W/draft.txt $W/.env.local ) & CPID=$!
run $H $W ./waitread 127.0.0.1 .env.local; wait $CPID
verdict $D/out.txt SECRET
