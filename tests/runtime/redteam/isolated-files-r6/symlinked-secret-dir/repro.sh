#!/bin/bash
# The agent replaces ~/.cache/huggingface (which holds no token yet) by a symlink
# to a directory of another name; the token the user's login writes later through
# the link lands at ~/.cache/hf-real/token, a path no pattern matches, and is read
# untainted. By the model (docs/language.md, "Secret names") the link makes
# ~/.cache/huggingface/token a name of that file: a secret.
set -u; . "$(dirname "$0")/../common.sh"
D=$R6/symlinked-secret-dir
one() { # one MODE(run|runmed) SCRIPT TAG [FILE the user writes]
  local file=${4:-}
  W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H/.cache/huggingface/hub/models--gpt2
  file=${file:+$D/$file}; file=${file:-$H/.cache/huggingface/token}
  gcc -O1 -o $W/waitread $R4/waitread.c; cp $D/$2 $W/
  [ "$2" = startup.sh ] && ln -s notes.txt $W/.env   # left by an earlier session
  listen $IP $D/out-$3.txt
  # The user, outside, logs in to Hugging Face during the session (huggingface-cli
  # writes $HF_HOME/token, HF_HOME defaulting to ~/.cache/huggingface).
  (while [ ! -e $W/linked ]; do sleep 0.05; done; sleep 0.5
   printf "hf_SECRET-HF-$3\n" > $file; echo "outside: wrote $file") & CPID=$!
  CLAWLESS_TRACE_DISCOVERY=1 $1 $H $W bash ./$2 2>&1 | grep -v "^clawless: discovery\|walk\|root\|cached\|armed"
  wait $CPID; verdict $D/out-$3.txt hf_SECRET-HF-$3; }
echo "== attack, kernel-decided opens"; one run agent.sh iso
echo "== attack, mediated opens"; one runmed agent.sh med
echo "== control: no link (kernel-decided opens)"; one run control.sh control
echo "== variant: a dangling .env -> notes.txt in the workspace, kernel-decided opens"; one run dangling.sh dangling-iso ws/.env
echo "== variant: the same, mediated opens"; one runmed dangling.sh dangling-med ws/.env
echo "== variant: the dangling link exists when the session starts, kernel-decided opens"; one run startup.sh startup-iso ws/.env
echo "== clawc explain on the file the last variant read (the model says: a secret, the read taints)"
$ROOT/target/debug/clawc explain std::profiles::coding_agent --syscall openat --path $D/ws/notes.txt --env WORKSPACE=$D/ws 2>&1 | grep -E "^(accesses|name|then):" | sed "s|$D/||g"
