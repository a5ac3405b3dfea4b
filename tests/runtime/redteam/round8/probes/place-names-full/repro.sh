#!/bin/bash
# MAX_NAMES = 8 names per place: the agent's own 8 links to ws/aws fill the place's
# names, so the user's ~/.aws -> ws/aws made during the session is not remembered as a
# name of ws/aws; a credentials file created there later is not named (kopens: no mark).
set -u; . "$(dirname "$0")/../../common.sh"
IP=127.78.8.6; D=$R8/probes/place-names-full
for mode in ${*:-fill none}; do
  W=$D/ws-$mode H=$D/home-$mode; rm -rf $W $H; mkdir -p $W/aws $H/.cache; gcc -O1 -o $W/fill $D/fill.c; echo '[default]' > $W/aws/config
  ( for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; sleep 0.3; ln -s $W/aws $H/.aws; sleep 0.5
    printf "[default]\naws_secret_access_key=SECRET-$mode\n" > $H/.aws/credentials; echo "user: ~/.aws -> ws/aws, aws configure wrote ~/.aws/credentials" ) & UP=$!
  listen $IP $D/out-$mode.txt
  echo "==== kopens, $mode"
  CLAWLESS_TRACE_DISCOVERY=1 run $H $W ./fill $IP $H $mode 2>&1 | grep -v "watcher armed"; wait $UP
  verdict $D/out-$mode.txt "\[default\]"
done
