// The monitor holds a copy of every blocked send (up to 1 MiB each, for up to
// 8192 waiting sends): N processes each blocked in sendmsg of 1 MiB on a
// socketpair nobody reads make clawless hold N MiB (8 GiB at the bound).
// Usage: send_hoard N SECONDS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100, secs = argc > 2 ? atoi(argv[2]) : 5;
    if (n > 2000) n = 2000;
    static char big[1 << 20];
    memset(big, 'A', sizeof big);
    pid_t kids[2000];
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) _exit(1);
            struct iovec iov = { big, sizeof big };
            struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
            sendmsg(sv[0], &m, 0);   // blocks: nobody reads sv[1]
            _exit(0);
        }
        kids[i] = p;
    }
    printf("%d senders started\n", n); fflush(stdout);
    sleep(secs);
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    while (wait(NULL) > 0) {}
    return 0;
}
