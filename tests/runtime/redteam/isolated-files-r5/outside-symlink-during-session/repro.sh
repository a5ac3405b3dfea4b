#!/bin/bash
# A secret-named symlink made by a process outside the sandbox during the session
# (`.env -> config/dev-settings`, as a dotenv tool or the user does): the watcher sees
# the name `.env` but marks nothing (Tripwires::mark_only skips symlinks) and the
# secret-name listing is done at start-up only: the target is read untainted.
set -u; . "$(dirname "$0")/../common.sh"
D=$R5/outside-symlink-during-session; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W/config $H
gcc -O1 -o $W/readsend $R5/../isolated-files-r4/readsend.c
listen 127.0.0.1 $D/out.txt
for i in 1 2; do
  printf "SECRET-ENV-link-$i\n" > $W/config/dev-settings; rm -f $W/.env $W/ready
  ( while [ ! -e $W/ready ]; do sleep 0.05; done; ln -s config/dev-settings $W/.env ) & CPID=$!
  echo "== try $i"
  run $H $W /bin/sh -c 'touch ready; while [ ! -L .env ]; do sleep 0.05; done; sleep 1; ls -l .env; ./readsend 127.0.0.1 plain .env'
  wait $CPID
done
verdict $D/out.txt SECRET-ENV-link
