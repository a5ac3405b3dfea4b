import os
ws=os.path.dirname(os.path.abspath(__file__)).encode()
os.mkdir(ws+b"/\xff")
os.rename(ws+b"/.env", ws+b"/\xff/.env")   # a read: taints this session only
print("STAGED: .env moved into a directory whose name is not UTF-8")
