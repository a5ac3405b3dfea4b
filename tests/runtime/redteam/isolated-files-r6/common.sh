# common.sh: sourced by each repro. Round 5's runner (embedded default profile
# std::profiles::coding_agent, kernel-decided opens), round 4's listener and sender.
R6=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. $R6/../isolated-files-r5/common.sh
R4=$R6/../isolated-files-r4
