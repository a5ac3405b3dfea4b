#!/bin/bash
# probe.sh [HOW...]: each way of giving the held draft a secret name, in three
# configurations (isolated with kernel-decided opens, isolated mediated, mediated mode).
# A LEAK line means the key the user wrote into the secret name reached the listener.
set -u; . "$(dirname "$0")/../common.sh"
D=$R7/naming-probes; IP=127.77.7.2
gcc -O1 -o $D/naming.bin $D/naming.c
HOWS=${*:-symlinkat-dirfd symlinkat-procfd symlink-then-rename symlink-then-renameat2-dirfd chain relative-subdir hardlink-of-symlink exchange-symlink link-procfd-follow tmpfile-link rename-dir-of-link symlink-dotdot-name symlink-abs-procroot symlink-cwd-procfd none}
outside_links() { # the user's tool makes links while the agent runs (kopens: the watcher learns them)
  case $1 in
    outside-wronly-reopen|outside-path-reopen) mv $2/draft $2/.env;;
    outside-direct) ln -s config/x $2/.env;;                        # control: learned, late mark
    outside-chain-late) ln -s l2 $2/.env; sleep 0.3; ln -s config/x $2/l2;;   # .env dangling, completed later
    outside-chain) ln -s config/x $2/l2; sleep 0.3; ln -s l2 $2/.env;;
    outside-retarget) mkdir -p $2/old; : > $2/old/y; ln -s old/y $2/.env; sleep 0.3; rm $2/.env; ln -s config/x $2/.env;;
    outside-dir-late) ln -s cfg/x $2/.env; sleep 0.3; ln -s config $2/cfg;;   # a directory link completes it
    outside-retarget-mid) ln -s l2 $2/.env; ln -s old $2/l2; sleep 0.3; rm $2/l2; ln -s config/x $2/l2;;
  esac; }
for how in $HOWS; do for cfg in ${CFGS:-kopens isolated mediated}; do
  W=$D/ws-$cfg-$how H=$D/home-$cfg-$how; rm -rf $W $H; mkdir -p $W $H; cp $D/naming.bin $W/naming
  case $how in dangling-*) mkdir $W/config; ln -s config/dev.env $W/.env;; dotfiles-*) mkdir $W/aws; echo '[default] OLD' > $W/aws/credentials; ln -s $W/aws $H/.aws;; existing-*) mkdir $W/config; echo OLD-KEY > $W/config/dev.env; ln -s config/dev.env $W/.env;; esac
  case $how in relative-subdir) S=sub/.env;; rename-dir-of-link) S=e/d/.env;; hf-*) S=../home-$cfg-$how/.cache/huggingface/token;; dotfiles-rename-over|dotfiles-read) S=../home-$cfg-$how/.aws/credentials;; dotfiles-link) S=../home-$cfg-$how/.aws/config;; *) S=.env;; esac
  ( while [ ! -e $W/named ]; do sleep 0.05; done; sleep 0.3; outside_links $how $W; sleep 0.3; printf "API_KEY=SECRET-$how-$cfg\n" > $W/$S; touch $W/go ) & UP=$!
  listen $IP $D/out-$cfg-$how.txt
  case $cfg in
    kopens) run $H $W ./naming $IP $how ;;
    isolated) runmed $H $W ./naming $IP $how ;;
    mediated) (cd $W && env -u XDG_CACHE_HOME HOME=$H PATH=/usr/bin:/bin timeout 120 $CLAW exec --mode mediated --workspace $W -- ./naming $IP $how) ;;
  esac > $D/log-$cfg-$how.txt 2>&1; wait $UP
  sleep 0.5; kill $LPID 2>/dev/null; wait $LPID 2>/dev/null
  res=held; grep -q "LEAK:API_KEY" $D/out-$cfg-$how.txt && res=LEAK
  grep -q PRE-TAINT $D/out-$cfg-$how.txt && pre=pre-ok || pre=PRE-FAILED
  echo "$how $cfg: $pre $res | $(grep -h '^naming' $D/log-$cfg-$how.txt) | $(grep -h 'read through' $D/log-$cfg-$how.txt)"
done; done
