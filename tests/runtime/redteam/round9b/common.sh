# common.sh: sourced by each repro of round 9b. The helpers (listen, run, runmed,
# verdict) are round 4's; runmode is round 8's. Listener addresses: 127.79.10.x only.
R9B=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../round8/common.sh
source "$R9B/../round8/common.sh"
