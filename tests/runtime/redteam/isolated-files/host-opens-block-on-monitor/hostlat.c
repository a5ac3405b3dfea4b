#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <time.h>
int main(int c,char**v){ struct timespec a,b; double mx=0,tot=0; for(int i=0;i<2000;i++){clock_gettime(CLOCK_MONOTONIC,&a); int fd=open(v[1],O_RDONLY); close(fd); clock_gettime(CLOCK_MONOTONIC,&b); double d=(b.tv_sec-a.tv_sec)*1e3+(b.tv_nsec-a.tv_nsec)/1e6; tot+=d; if(d>mx)mx=d;} printf("host open %s: avg %.3f ms max %.3f ms\n",v[1],tot/2000,mx);}
