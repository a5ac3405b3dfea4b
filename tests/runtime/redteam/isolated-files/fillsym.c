// fillsym DIR N : N symlinks DIR/s<i> -> x (directory entries for the start-up walk)
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
int main(int c,char**v){ int d=open(v[1],O_DIRECTORY); long n=atol(v[2]),ok=0; char p[64];
 for(long i=0;i<n;i++){ snprintf(p,sizeof p,"s%ld",i); if(symlinkat("x",d,p)==0) ok++; }
 printf("FILLED %ld/%ld\n",ok,n); }
