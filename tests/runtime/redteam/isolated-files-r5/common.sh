# common.sh: sourced by each repro. Runs the embedded default profile
# (std::profiles::coding_agent) with kernel-decided opens.
R5=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$R5/../../../.." && pwd)
CLAW=$ROOT/target/debug/clawless
listen() { # listen IP OUT
  : > "$2"; python3 $R5/../isolated-files-r4/listen.py "$1" "$2" & LPID=$!; sleep 0.5; }
run() { # run HOME WS cmd...   (isolated, kernel-decided opens, default profile)
  local h=$1 w=$2; shift 2
  (cd $w && env -u XDG_CACHE_HOME HOME=$h PATH=/usr/bin:/bin CLAWLESS_KERNEL_OPENS=1 timeout 300 $CLAW exec --mode isolated --workspace $w -- "$@"); }
runmed() { # the same run with mediated opens (control)
  local h=$1 w=$2; shift 2
  (cd $w && env -u XDG_CACHE_HOME HOME=$h PATH=/usr/bin:/bin timeout 300 $CLAW exec --mode isolated --workspace $w -- "$@"); }
verdict() { # verdict OUT SECRET
  sleep 1; kill $LPID 2>/dev/null; wait $LPID 2>/dev/null; echo "--- listener received:"; cat "$1"
  if grep -q "LEAK:$2" "$1"; then echo "RESULT: LEAK (secret bytes reached the listener after the read)"; else echo "RESULT: held"; fi; }
