#!/bin/bash
# Kernel-decided opens: the agent holds config/x; a process outside makes a link
# chain to it during the session in an order where the secret-named link (.env) is
# made first, dangling or pointing elsewhere, and a link under an ordinary name (l2,
# cfg) completes or retargets the chain later. The watcher learns links by their own
# names only, so config/x never becomes a tripwire and no late mark decides the held
# descriptor: the key the user writes into .env is read and sent.
# Control: outside-direct (.env -> config/x at once: learned, late mark, tainted).
set -u; D=$(cd "$(dirname "$0")" && pwd)
echo "MARKER: round7 outside-link-completed-later"
CFGS=kopens $D/../naming-probes/probe.sh none outside-direct outside-chain outside-retarget outside-chain-late outside-dir-late outside-retarget-mid
