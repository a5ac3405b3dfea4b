// manylinks N BATCH: makes N secret-named dangling links dI/.env -> x (each one
// learned: a by_path entry of the session's secret names), timing every BATCH; then
// times 1,000 ordinary symlinks (a name that names nothing, plainI -> x), whose
// may_name scans every entry (places_at).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/resource.h>
static double now(){ struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec/1e9; }
static void plain(int round){ char p[64]; double t=now(); for(int i=0;i<1000;i++){ snprintf(p,64,"plain%d-%d",round,i); symlink("x",p);} 
  printf("  1,000 ordinary symlinks: %.1f us each\n",(now()-t)*1e3); }
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); int n=atoi(argv[1]), b=atoi(argv[2]); char p[64];
  plain(0); double t=now();
  for(int i=1;i<=n;i++){ snprintf(p,64,"d%d",i); mkdir(p,0755); snprintf(p,64,"d%d/.env",i); if(symlink("x",p)){perror("symlink");return 1;}
    if(i%b==0){ printf("secret-named links %d: last %d at %.1f us each\n",i,b,(now()-t)*1e6/b); t=now(); plain(i); t=now(); } }
  return 0; }
