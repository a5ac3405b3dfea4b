#!/bin/bash
# Part 1 probes: the end of a secret-named link reached by other spellings (HELD.md).
set -u; . "$(dirname "$0")/../common.sh"
IP=127.78.8.5; D=$R8/probes
for how in ${HOWS:-dirlink procfd dirfd dotdot exchange link-procroot symlink-dirfd}; do for cfg in ${CFGS:-mediated kopens}; do
  W=$D/ws-$how-$cfg H=$D/home-$how-$cfg; rm -rf $W $H; mkdir -p $W/config $H; gcc -O1 -o $W/spell $D/spell.c
  echo OLD-KEY > $W/config/dev.env; ln -s config/dev.env $W/.env; ln -s config $W/cfgl
  ( for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; sleep 0.3; printf "API_KEY=SECRET-$how\n" > $W/.env ) & UP=$!
  listen $IP $D/out-$how-$cfg.txt
  env=""; mode=isolated; case $cfg in kopens) env=CLAWLESS_KERNEL_OPENS=1;; mediated) mode=mediated;; esac
  (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin $env timeout 60 $CLAW exec --mode $mode --workspace $W -- ./spell $IP $how) > $D/log-$how-$cfg.txt 2>&1; wait $UP
  sleep 0.5; kill $LPID 2>/dev/null; wait $LPID 2>/dev/null
  res=held; grep -q "LEAK:API_KEY" $D/out-$how-$cfg.txt && res=LEAK; grep -q PRE-TAINT $D/out-$how-$cfg.txt && pre=pre-ok || pre=PRE-FAILED
  echo "$how $cfg: $pre $res | $(grep -h '^naming\|^HELD\|socket:' $D/log-$how-$cfg.txt | tr '\n' ' ')"
done; done
