# common.sh: sourced by each repro of round 9. The helpers (listen, run, runmed,
# verdict: the embedded default profile, kernel-decided opens) are round 4's;
# runmode is round 8's. Listener addresses: 127.79.9.x only.
R9=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../round8/common.sh
source "$R9/../round8/common.sh"
