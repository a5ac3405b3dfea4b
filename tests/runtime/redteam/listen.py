# listener outside the sandbox: python3 listen.py IP PORT [udp]; prints what arrives
import socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3 and sys.argv[3] == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((ip, port)); s.settimeout(20)
    while True:
        try: d, a = s.recvfrom(65536)
        except socket.timeout: break
        print("GOT", d, flush=True)
else:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((ip, port)); s.listen(16); s.settimeout(20)
    while True:
        try: c, a = s.accept()
        except socket.timeout: break
        c.settimeout(3)
        try:
            while True:
                d = c.recv(65536)
                if not d: break
                print("GOT", d, flush=True)
        except Exception as e: print("ERR", e, flush=True)
