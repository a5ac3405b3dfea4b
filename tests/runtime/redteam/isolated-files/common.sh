# common.sh: sourced by each repro. Uses the policy ../ca.claw = std::profiles::coding_agent
# minus `deny write, append clawless_cache` (see default-profile-never-isolated: with the
# embedded default, isolated files never activate, so the tripwires cannot be attacked).
RT=/work/wt/redteam
CLAW=$RT/bin/clawless
POLICY=$RT/findings/ca.bin
[ -f $POLICY ] || $RT/bin/clawc compile $RT/findings/ca.claw -o $POLICY >/dev/null 2>&1
listen() { # listen IP OUT
  : > "$2"; python3 $RT/findings/listen.py "$1" "$2" & LPID=$!; sleep 0.5; }
run() { # run HOME WS cmd...
  local h=$1 w=$2; shift 2
  (cd $w && env -u XDG_CACHE_HOME HOME=$h PATH=/usr/bin:/bin timeout 600 $CLAW exec --policy $POLICY --workspace $w -- "$@"); }
verdict() { # verdict OUT SECRET
  sleep 1; kill $LPID 2>/dev/null; echo "--- listener received:"; cat "$1"
  if grep -q "LEAK:$2" "$1"; then echo "RESULT: LEAK (secret bytes reached the listener after the read)"; else echo "RESULT: held"; fi; }
