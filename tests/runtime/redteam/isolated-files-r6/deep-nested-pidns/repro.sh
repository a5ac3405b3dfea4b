#!/bin/bash
# A process in a pid namespace of its own (clone(CLONE_NEWUSER|CLONE_NEWPID), allowed
# by the profile) more than 4,096 generations below the sandbox's init is judged
# "outside the sandbox" by the tripwire: its open of .env is allowed untainted.
set -u; . "$(dirname "$0")/../common.sh"
D=$R6/deep-nested-pidns; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/chain $D/chain.c
echo "SECRET-ENV-deep" > $W/.env
listen $IP $D/out.txt
echo "== attack: nested pid namespace, 4,100 generations deep"
run $H $W ./chain $IP .env 4100 2>&1
verdict $D/out.txt SECRET-ENV-deep
echo "SECRET-ENV-shallow" > $W/.env
listen $IP $D/out-control.txt
echo "== control: the same nested pid namespace, 4,000 generations deep"
run $H $W ./chain $IP .env 4000 2>&1
verdict $D/out-control.txt SECRET-ENV-shallow
echo "SECRET-ENV-flat" > $W/.env
listen $IP $D/out-flat.txt
echo "== control: no new namespace, 4,100 generations deep"
run $H $W ./chain $IP .env 4100 flat 2>&1
verdict $D/out-flat.txt SECRET-ENV-flat
echo "SECRET-ENV-med" > $W/.env
listen $IP $D/out-med.txt
echo "== control: the attack with mediated opens"
runmed $H $W ./chain $IP .env 4100 2>&1
verdict $D/out-med.txt SECRET-ENV-med
