#!/bin/bash
# A secret-named link's chain retargeted after the link was learned: the runtime
# keeps the old end as the secret's object; the user's later `.env` is written at
# the new end and read untainted.
set -u; . "$(dirname "$0")/../common.sh"
D=$R6/relinked-chain
one() { # one MODE(run|runmed) TAG [SCRIPT]
  local sc=${3:-agent.sh}
  W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H/.cache
  gcc -O1 -o $W/waitread $R4/waitread.c; cp $D/$sc $W/
  listen $IP $D/out-$2.txt
  (while [ ! -e $W/linked ]; do sleep 0.05; done; sleep 0.5
   printf "SECRET-ENV-$2\n" > $W/.env; echo "outside: wrote .env (through .env -> hop -> notes.txt)") & CPID=$!
  CLAWLESS_TRACE_DISCOVERY=1 $1 $H $W bash ./$sc 2>&1 | grep -v "^clawless: discovery\|walk\|root\|cached\|armed"
  wait $CPID; verdict $D/out-$2.txt SECRET-ENV-$2; }
echo "== attack, kernel-decided opens"; one run iso
echo "== attack, mediated opens"; one runmed med
echo "== control: the chain never retargeted, mediated opens"; one runmed straight-med straight.sh
echo "== variant: the middle link replaced by a rename, kernel-decided opens"; one run ren-iso renamed.sh
echo "== variant: the same, mediated opens"; one runmed ren-med renamed.sh
echo "== variant: a directory of the path replaced by a link, kernel-decided opens"; one run dir-iso dirswap.sh
echo "== variant: the same, mediated opens"; one runmed dir-med dirswap.sh
echo "== clawc explain on other/x after the last variant (the model: .env names it)"
$ROOT/target/debug/clawc explain std::profiles::coding_agent --syscall openat --path $D/ws/other/x --env WORKSPACE=$D/ws 2>&1 | grep -E "^(accesses|name|then):" | sed "s|$D/||g"
