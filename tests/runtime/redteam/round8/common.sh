# common.sh: sourced by each repro of round 8. The helpers (listen, run, runmed,
# verdict: the embedded default profile, kernel-decided opens) are round 4's.
# Listener addresses: 127.78.8.x only (a CI run shares the machine).
R8=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../isolated-files-r4/common.sh
source "$R8/../isolated-files-r4/common.sh"
runmode() { # runmode MODE HOME WS cmd...  (mediated mode, or any --mode; opens mediated)
  local m=$1 h=$2 w=$3; shift 3
  (cd $w && env -u XDG_CACHE_HOME HOME=$h PATH=/usr/bin:/bin timeout 300 $CLAW exec --mode $m --workspace $w -- "$@"); }
