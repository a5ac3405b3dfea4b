# common.sh: sourced by each repro of round 7. The helpers (listen, run, runmed,
# verdict: the embedded default profile, kernel-decided opens) are round 4's.
R7=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../isolated-files-r4/common.sh
source "$R7/../isolated-files-r4/common.sh"
