#!/bin/bash
# The agent holds notes.txt open, then makes `.env -> notes.txt`; the user's later
# `.env` is written into notes.txt and read through the descriptor held from before.
set -u; . "$(dirname "$0")/../common.sh"
D=$R6/held-then-linked
one() { # one MODE(run|runmed) SCRIPT TAG
  W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H/.cache
  gcc -O1 -o $W/fdsend $D/fdsend.c; gcc -O1 -o $W/readsend $R4/readsend.c; cp $D/$2 $W/
  listen $IP $D/out-$3.txt
  (while [ ! -e $W/linked ]; do sleep 0.05; done; sleep 0.5
   printf "SECRET-ENV-$3\n" > $W/.env; echo "outside: wrote .env (through the link)") & CPID=$!
  CLAWLESS_TRACE_DISCOVERY=1 $1 $H $W bash ./$2 2>&1 | grep -v "^clawless: discovery\|walk\|root\|cached\|armed"
  wait $CPID; verdict $D/out-$3.txt SECRET-ENV-$3; }
echo "== attack, kernel-decided opens"; one run heldlink.sh iso
echo "== attack, mediated opens"; one runmed heldlink.sh med
echo "== control: the descriptor opened after the link (kernel-decided opens)"; one run control.sh control
