# cgroup-writes.sh: run in the sandbox; every line that succeeds prints an upper-case word.
C=/sys/fs/cgroup/unified
G=$(sed -n "s/^0:://p" /proc/self/cgroup)
ln -sf $C$G cg 2>&1; echo 0 > cg/cgroup.procs && echo MOVED-SYMLINK
echo 0 > /proc/self/root$C$G/cgroup.procs && echo MOVED-PROCROOT
cd $C$G && echo 0 > cgroup.procs && echo MOVED-CWD
cd $C && echo 0 > ./cgroup.procs && echo MOVED-CWD-ROOT
python3 -c "
import os
d=os.open('$C',os.O_RDONLY|os.O_DIRECTORY)
try:
  f=os.open('cgroup.procs',os.O_WRONLY,dir_fd=d); os.write(f,b'0'); print('MOVED-OPENAT')
except Exception as e: print('openat',e)
try:
  os.mkdir('sub',dir_fd=d); print('MKDIR-AT')
except Exception as e: print('mkdirat',e)
" 2>&1
cat /proc/self/cgroup | tail -1
echo 0 > $C$G/cgroup.freeze && echo THAWED
echo 1 > $C$G/cgroup.kill && echo KILLED
echo 1 > /sys/fs/cgroup/freezer/freezer.state 2>&1 || true
mkdir /sys/fs/cgroup/freezer/x && echo V1-MKDIR
