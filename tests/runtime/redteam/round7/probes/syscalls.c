#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>
#include <linux/aio_abi.h>
#include <linux/sched.h>
int main(){ struct io_uring_params p; memset(&p,0,sizeof p);
  long r=0; if(getenv("U")){ r=syscall(SYS_io_uring_setup,4,&p); printf("io_uring_setup: %ld %s\n",r,r<0?strerror(errno):"");}
  aio_context_t c=0; r=syscall(SYS_io_setup,4,&c); printf("io_setup: %ld %s\n",r,r<0?strerror(errno):"");
  struct clone_args ca={0}; r=syscall(SYS_clone3,&ca,sizeof ca); if(r==0) _exit(0); printf("clone3: %ld %s\n",r,r<0?strerror(errno):"");
  if(getenv("P")) r=syscall(SYS_ptrace,0x4206,getppid(),0,0); printf("ptrace seize: %ld %s\n",r,r<0?strerror(errno):"");
  int fd=open("/sys/fs/cgroup/unified/cgroup.events",O_RDONLY); printf("open cgroup.events ro: %d %s\n",fd,fd<0?strerror(errno):"");
  return 0;}
