// killed: runs each call in a child and reports how the child ended (SIGSYS = the
// policy's `kill dangerous`).
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
static void try(const char*name,long nr,long a,long b,long c){ pid_t p=fork();
  if(p==0){ long r=syscall(nr,a,b,c,0,0); printf("%s returned %ld (%s)\n",name,r,r<0?strerror(errno):"ok"); _exit(0);}
  int st; waitpid(p,&st,0); if(WIFSIGNALED(st)) printf("PROBE %s: killed by signal %d%s\n",name,WTERMSIG(st),WTERMSIG(st)==SIGSYS?" (SIGSYS)":""); else printf("PROBE %s: exited\n",name);}
int main(){ setvbuf(stdout,0,_IONBF,0); char buf[64]={0};
  try("io_uring_setup",SYS_io_uring_setup,8,(long)buf,0);
  try("pidfd_getfd",SYS_pidfd_getfd,0,0,0);
  try("name_to_handle_at",SYS_name_to_handle_at,AT_FDCWD,(long)".",(long)buf);
  try("open_by_handle_at",SYS_open_by_handle_at,AT_FDCWD,(long)buf,0);
  try("open_tree",SYS_open_tree,AT_FDCWD,(long)".",0);
  try("fsopen",SYS_fsopen,(long)"tmpfs",0,0);
  try("unshare",SYS_unshare,0x400 /*CLONE_FILES*/,0,0);
  return 0; }
