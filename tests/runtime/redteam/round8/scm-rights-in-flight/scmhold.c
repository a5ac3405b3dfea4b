// scmhold IP PATH SECS MODE: sends PRE; opens PATH (an ordinary file now) read-only,
// sends the descriptor over an AF_UNIX socketpair in an SCM_RIGHTS message and closes
// it and the sending end: the only reference left is the message in flight in the
// receiving socket's queue. Says ready, waits, receives the descriptor and reads it.
// MODE: dgram0 (SOCK_DGRAM, 0 bytes of data: FIONREAD answers 0), seqpacket0
// (SOCK_SEQPACKET, 0 bytes), stream1 (SOCK_STREAM, 1 byte: data queued, a holder
// the scan knows: control), hold (control: the descriptor itself kept open),
// unrelated-pipe: the file closed, a pipe with 1 unrelated byte kept (does the late
// mark fail closed on it?), splicepass: the file's first page spliced into a pipe, the pipe's read end (not the
// file) passed in a 0-byte SOCK_DGRAM message, every descriptor closed: the monitor
// remembers the pipe's inode as passed, not the file's, and no /proc entry is left.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1]; const char*mode=argv[4];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=open(argv[2],O_RDONLY); if(fd<0){perror("open");return 1;}
  int type=!strcmp(mode,"seqpacket0")?SOCK_SEQPACKET:!strcmp(mode,"stream1")?SOCK_STREAM:SOCK_DGRAM;
  int sv[2]; if(socketpair(AF_UNIX,type,0,sv)){perror("socketpair");return 1;}
  if(!strcmp(mode,"unrelated-pipe")){ // fail closed: a pipe with a byte unrelated to the file
    int q[2]; pipe(q); write(q[1],"x",1); close(fd); printf("file closed; a pipe holds 1 unrelated byte\n");
    close(open("ready",O_CREAT|O_WRONLY,0644)); sleep(atoi(argv[3]));
    printf("POST send: %d\n",send_buf(ip,"LEAK:none-unrelated",19)); return 0; }
  int hold=!strcmp(mode,"hold"), sp=!strcmp(mode,"splicepass"); int p[2];
  if(sp){ if(pipe(p)){perror("pipe");return 1;} ssize_t n=splice(fd,NULL,p[1],NULL,4096,0);
    printf("splice: %zd\n",n); if(n<=0) return 1; close(p[1]); close(fd); fd=p[0]; }
  if(!hold){
    char c='x'; struct iovec v={&c, !strcmp(mode,"stream1")?1:0};
    char cb[CMSG_SPACE(sizeof(int))]; memset(cb,0,sizeof cb);
    struct msghdr m={0}; m.msg_iov=&v; m.msg_iovlen=1; m.msg_control=cb; m.msg_controllen=sizeof cb;
    struct cmsghdr*h=CMSG_FIRSTHDR(&m); h->cmsg_level=SOL_SOCKET; h->cmsg_type=SCM_RIGHTS; h->cmsg_len=CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h),&fd,sizeof(int));
    printf("sendmsg %s: %zd\n",mode,sendmsg(sv[0],&m,0));
    close(fd); close(sv[0]); int q=-1; ioctl(sv[1],FIONREAD,&q);
    printf("descriptor and sender closed: the file is only in flight (receiver FIONREAD=%d)\n",q);
  } else printf("control: descriptor kept open\n");
  close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(atoi(argv[3]));
  if(!hold){
    char c; struct iovec v={&c,1}; char cb[CMSG_SPACE(sizeof(int))];
    struct msghdr m={0}; m.msg_iov=&v; m.msg_iovlen=1; m.msg_control=cb; m.msg_controllen=sizeof cb;
    ssize_t r=recvmsg(sv[1],&m,0); struct cmsghdr*h=CMSG_FIRSTHDR(&m);
    if(r<0||!h){printf("recvmsg: %zd %s\n",r,strerror(errno));return 1;}
    memcpy(&fd,CMSG_DATA(h),sizeof(int)); printf("received descriptor %d back\n",fd);
  }
  char buf[4097]={0}; ssize_t r=sp?read(fd,buf,4096):pread(fd,buf,4096,0); if(r<0){perror("read");return 1;}
  printf("FILE READS %zd bytes: %.40s\n",r,buf);
  char m[128]; int l=snprintf(m,sizeof m,"LEAK:%.40s",buf);
  printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
