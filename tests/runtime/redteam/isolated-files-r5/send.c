// send.c: send argv[2] (or contents of file fd argv[3]) to 127.77.x.y:443
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int send_buf(const char *ip, const char *buf, size_t n){
  int s=socket(AF_INET,SOCK_STREAM,0); if(s<0){perror("socket");return -1;}
  struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(443)}; inet_pton(AF_INET,ip,&a.sin_addr);
  if(connect(s,(void*)&a,sizeof a)<0){perror("connect");close(s);return -1;}
  ssize_t w=write(s,buf,n); close(s); return w;
}
