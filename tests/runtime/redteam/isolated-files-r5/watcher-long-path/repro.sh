#!/bin/bash
# A secret created by an outside process in a directory whose absolute path is longer
# than PATH_MAX (4,096 bytes): Watcher::resolve names the event's directory with
# readlink(/proc/self/fd/N), which fails past PATH_MAX, and drops the event. DEPTH=1 is
# the control (a short path: marked, tainted).
set -u; . "$(dirname "$0")/../common.sh"
D=$R5/watcher-long-path; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/deepread $D/deepread.c
C=$(printf 'd%.0s' $(seq 1 250)); N=${DEPTH:-18}
( cd $W; for i in $(seq 1 $N); do mkdir $C; cd $C; done; echo "deep directory: $(pwd | wc -c) bytes" )
listen 127.0.0.1 $D/out.txt
for i in 1 2; do
  ( cd $W; for k in $(seq 1 $N); do cd $C; done; rm -f .env; rm -f $W/ready
    while [ ! -e $W/ready ]; do sleep 0.05; done; printf "SECRET-ENV-long-$i\n" > .env; touch $W/written ) & CPID=$!
  rm -f $W/written; echo "== try $i (depth $N)"
  run $H $W /bin/sh -c "touch ready; while [ ! -e written ]; do sleep 0.05; done; sleep 1; ./deepread 127.0.0.1 $N $C"
  wait $CPID
done
verdict $D/out.txt SECRET-ENV-long
