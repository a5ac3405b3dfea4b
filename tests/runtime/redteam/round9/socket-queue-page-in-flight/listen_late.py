# listen_late.py IP OUT DELAY: like round 4's listen.py, but each connection is read
# only DELAY seconds after it is accepted (what was sent waits in the receive queue).
import socket,sys,threading,time
ip=sys.argv[1]; out=sys.argv[2]; delay=float(sys.argv[3])
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((ip,443)); s.listen(50)
def h(c):
    time.sleep(delay)
    d=b''
    c.settimeout(5)
    try:
        while True:
            x=c.recv(65536)
            if not x: break
            d+=x
    except Exception: pass
    with open(out,'ab') as f: f.write(b'CONN['+d+b']\n')
    c.close()
while True:
    c,_=s.accept(); threading.Thread(target=h,args=(c,),daemon=True).start()
