// fdsend IP SECONDS: sends PRE, waits SECONDS, reads descriptor 3 from offset 0
// (opened by the caller before anything was a secret) and sends what it read.
#define _GNU_SOURCE
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0);
  printf("PRE send: %d\n", send_buf(argv[1],"PRE-TAINT-CHANNEL-OK",20));
  sleep(atoi(argv[2]));
  char buf[4096]; ssize_t n=pread(3,buf,sizeof buf-1,0); buf[n>0?n:0]=0;
  printf("READ fd 3: %zd bytes: %.40s\n",n,buf);
  char msg[4200]; int m=snprintf(msg,sizeof msg,"LEAK:%s",buf);
  printf("POST send: %d\n", send_buf(argv[1],msg,m)); return 0; }
