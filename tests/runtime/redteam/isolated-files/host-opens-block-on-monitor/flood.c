#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int c,char**v){ int np=atoi(v[1]); double secs=atof(v[2]);
 for(int i=0;i<np;i++) if(fork()==0){ time_t t0=time(0); long n=0; while(time(0)-t0<secs){int fd=open(v[3],O_RDONLY); if(fd>=0) close(fd); n++;} printf("child %d: %ld opens\n",i,n); _exit(0);} 
 while(wait(0)>0); }
