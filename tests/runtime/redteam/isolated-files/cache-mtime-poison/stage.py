import os
ws=os.path.dirname(os.path.abspath(__file__))
a=os.stat(ws); b=os.stat(ws+"/d")
print("before: ws mtime_ns",a.st_mtime_ns,"d mtime_ns",b.st_mtime_ns)
os.rename(ws+"/.env", ws+"/d/.env")   # taints THIS session only; we don't care
os.utime(ws, ns=(a.st_atime_ns,a.st_mtime_ns))
os.utime(ws+"/d", ns=(b.st_atime_ns,b.st_mtime_ns))
a2=os.stat(ws); b2=os.stat(ws+"/d")
print("STAGED: moved .env into d/, mtimes restored:", a2.st_mtime_ns==a.st_mtime_ns, b2.st_mtime_ns==b.st_mtime_ns)
