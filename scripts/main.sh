#!/usr/bin/env bash
# The main job: build the toolchain, prove the default policy
# (std::profiles::coding_agent, embedded in `clawless`), then run the example agent
# (examples/agent/demo.sh) under it. The agent's ordinary work (make, git, python3,
# a pipeline, an HTTPS request) succeeds; once it reads the workspace's secret, every
# way it tries to send it out is refused, and the "attacker's" server is checked to
# have received nothing secret. Exits non-zero if any of that does not hold.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p clawc -p claw-runtime
clawc=./target/release/clawc
clawless=./target/release/clawless

echo "--- checking the standard profiles and the examples:"
$clawc check std::profiles examples/*.claw && echo "ok"
echo "--- proving the default policy's properties (and that its filter implements it):"
$clawc verify std::profiles --policy coding_agent

# The agent's workspace: a fresh directory in the clone (not under /tmp, where the
# policy forbids exec), holding the agent script and a secret.
demo=$PWD/target/demo
rm -rf "$demo"
mkdir -p "$demo/workspace"
cp examples/agent/demo.sh "$demo/workspace/"
secret="API_KEY=sk-live-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
echo "$secret" > "$demo/workspace/.env"

# The attacker's server, outside the sandbox, on a loopback address of its own;
# port 443 is HTTPS, which the policy allows until a secret is read.
collector=127.0.0.44:443
/usr/bin/python3 - "$collector" "$demo/received" <<'PY' &
import socket, sys, threading
host, port = sys.argv[1].rsplit(":", 1)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, int(port)))
srv.listen(16)
log = open(sys.argv[2], "ab", buffering=0)
def serve(conn):
    while data := conn.recv(4096):
        log.write(data)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -e "$demo/received" ] && break; sleep 0.1; done

echo "--- running the example agent under the embedded default policy"
echo "    (clawless exec --workspace $demo/workspace --log-denials -- bash demo.sh):"
status=0
(cd "$demo/workspace" && COLLECTOR=$collector "$OLDPWD/$clawless" exec \
    --workspace "$demo/workspace" --log-denials --audit-log "$demo/audit.jsonl" \
    -- bash demo.sh) || status=$?

echo
echo "--- the transition the monitor made (from the audit log, $demo/audit.jsonl):"
grep -m1 '"state_after":"tainted"' "$demo/audit.jsonl" || echo "(none: the secret was never read)"
echo "--- what the attacker's server received:"
sed 's/^/    /' "$demo/received"
if grep -qF "$secret" "$demo/received"; then
  echo "main: THE SECRET REACHED THE SERVER" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "main: the example agent reported failures (exit $status)" >&2
  exit 1
fi
echo "main: ordinary work succeeded; the secret never left the sandbox."
