import os,sys
d=os.open(sys.argv[1],os.O_RDONLY); n=int(sys.argv[2])
for i in range(n):
    os.mkdir("d",dir_fd=d); e=os.open("d",os.O_RDONLY,dir_fd=d); os.close(d); d=e
f=os.open(".env",os.O_WRONLY|os.O_CREAT,0o600,dir_fd=d); os.write(f,b"SECRET-ENV-deep-%d\n"%n); os.close(f)
