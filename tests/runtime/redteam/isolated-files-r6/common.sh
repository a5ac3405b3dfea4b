# common.sh: sourced by each repro. Round 5's runner (embedded default profile
# std::profiles::coding_agent, kernel-decided opens), round 4's listener and sender.
R6=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. $R6/../isolated-files-r5/common.sh
R4=$R6/../isolated-files-r4
# A loopback address of our own: other rounds' listeners may hold 127.0.0.1:443.
IP=127.0.6.6   # also written in the scripts run inside (the sandbox gets no IP variable)
