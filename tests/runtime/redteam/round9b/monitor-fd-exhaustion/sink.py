# sink.py IP: accepts on IP:443 and closes each connection at once (the agent's end
# stays a connected socket, tracked by the monitor while the agent holds it).
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((sys.argv[1],443)); s.listen(4096)
while True:
    c,_=s.accept(); c.close()
