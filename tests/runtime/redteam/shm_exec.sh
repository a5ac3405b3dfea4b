#!/bin/sh
# Finding: a program written to /dev/shm (writable, never executable: no state
# grants exec there) runs through the loader in isolated mode; only dirs named
# by a deny/kill exec rule were mounted noexec.
cd /root/ws1 && printf '#include <stdio.h>\nint main(){puts("RAN FROM SHM");return 0;}' > /tmp/hello.c && gcc -o hello /tmp/hello.c
${BIN:-/work/wt/attack/target/debug/clawless} exec -- sh -c 'cp hello /dev/shm/h; /dev/shm/h; /lib64/ld-linux-x86-64.so.2 /dev/shm/h'
rm -f /dev/shm/h   # before the fix: "RAN FROM SHM"
