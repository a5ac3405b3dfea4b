"""A stand-in for a coding-agent CLI (tests/runtime/docs.rs, docs/agents.md).

Like a real one it sends the conversation to its model API (`$MODEL_API`,
host:port, with its key `$MODEL_API_KEY` in a header), runs each tool call the
model answers with (a shell command) and sends the output back, until the model
says it is done; it keeps a session log in `~/.agent/`. The model API here is a
fake on loopback that speaks HTTP (a real agent speaks TLS to port 443: the
sandbox sees the same connect either way).
"""
import http.client
import json
import os
import subprocess
import sys

host, port = os.environ["MODEL_API"].rsplit(":", 1)
key = os.environ.get("MODEL_API_KEY", "")
home = os.path.expanduser("~/.agent")
os.makedirs(home, exist_ok=True)
log = open(os.path.join(home, "session.log"), "a")
messages = [{"role": "user", "content": " ".join(sys.argv[1:])}]
for turn in range(50):
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(
        "POST",
        "/v1/messages",
        body=json.dumps({"messages": messages}),
        headers={"content-type": "application/json", "x-api-key": key},
    )
    reply = json.loads(conn.getresponse().read())
    conn.close()
    if reply.get("done"):
        print("AGENT-DONE", turn, flush=True)
        break
    cmd = reply["tool"]
    p = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    print(out, end="", flush=True)
    log.write(f"$ {cmd}\n{out}")
    messages.append({"role": "tool", "content": out, "status": p.returncode})
else:
    sys.exit("the model never said it was done")
