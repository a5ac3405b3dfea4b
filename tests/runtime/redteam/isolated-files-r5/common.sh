# common.sh: sourced by each repro of round 5. The helpers (listen, run, runmed,
# verdict: the embedded default profile with kernel-decided opens) are round 4's.
R5=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../isolated-files-r4/common.sh
source "$R5/../isolated-files-r4/common.sh"
