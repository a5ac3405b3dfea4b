// The floor of a connect under seccomp user notification (docs/BENCHMARKS.md,
// "The network"): what a monitor that does the minimum costs, with nothing of
// ClawLess in it. One thread makes N connects (socket, connect, SO_LINGER reset,
// close) to a loopback listener of its own, the way bench/progs/netload.c does:
//   native     no filter;
//   continue   socket, setsockopt and connect are notifications that a
//              supervisor thread answers CONTINUE without looking at anything
//              (the round trips alone: the least any notifying monitor pays);
//   mediated   the same, but connect is performed by the supervisor on its
//              pidfd_getfd duplicate with the address it read from the caller's
//              memory (what `--mode mediated` does at the least);
//   isolated   the same, but the supervisor makes a new socket, connects it and
//              installs it at the caller's descriptor with ADDFD + SETFD (what
//              `--mode isolated` does at the least).
// Prints one line per mode: the mode and the mean µs per connect (median of
// R rounds, the modes interleaved). Usage: notiffloor [N] [R]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { NATIVE, CONTINUE, MEDIATED, ISOLATED, MODES };
static const char *names[MODES] = {"native", "continue", "mediated", "isolated"};

static struct sockaddr_in server;
static int n_connects = 2000;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *acceptor(void *arg) {
    int l = *(int *)arg;
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c >= 0) close(c);
    }
    return NULL;
}

struct run {
    int mode;
    int listener; // the notification fd, set by the client thread
    pthread_mutex_t mu;
    pthread_cond_t ready;
    double secs;
};

static int install_filter(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setsockopt, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_connect, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return -1;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static void *client(void *arg) {
    struct run *r = arg;
    if (r->mode != NATIVE) {
        int l = install_filter();
        if (l < 0) {
            perror("seccomp");
            exit(1);
        }
        pthread_mutex_lock(&r->mu);
        r->listener = l;
        pthread_cond_signal(&r->ready);
        pthread_mutex_unlock(&r->mu);
    }
    struct linger lg = {1, 0};
    double t0 = now();
    for (int i = 0; i < n_connects; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&server, sizeof server) < 0) {
            perror("connect");
            exit(1);
        }
        setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(s);
    }
    r->secs = now() - t0;
    return NULL;
}

static void respond(int l, __u64 id, __s64 val, int err, __u32 flags) {
    struct seccomp_notif_resp resp = {.id = id, .val = val, .error = err, .flags = flags};
    ioctl(l, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

// Answers the client's notifications until it is done.
static void supervise(struct run *r) {
    int l = r->listener;
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    for (;;) {
        // Until no thread uses the filter any more (the client exited: POLLHUP).
        struct pollfd p = {l, POLLIN, 0};
        if (poll(&p, 1, -1) < 0 || !(p.revents & POLLIN)) break;
        struct seccomp_notif req;
        memset(&req, 0, sizeof req);
        if (ioctl(l, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
        if (r->mode == CONTINUE || req.data.nr != SYS_connect) {
            respond(l, req.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
            continue;
        }
        // connect(fd, addr, len): the address from the caller's memory.
        struct sockaddr_in sa;
        struct iovec local = {&sa, sizeof sa};
        struct iovec remote = {(void *)req.data.args[1], sizeof sa};
        if (process_vm_readv(req.pid, &local, 1, &remote, 1, 0) != sizeof sa) {
            respond(l, req.id, 0, -EFAULT, 0);
            continue;
        }
        int fd = (int)req.data.args[0];
        if (r->mode == MEDIATED) {
            int dup = syscall(SYS_pidfd_getfd, self, fd, 0);
            int rc = connect(dup, (struct sockaddr *)&sa, sizeof sa);
            int e = rc < 0 ? -errno : 0;
            close(dup);
            respond(l, req.id, 0, e, 0);
        } else {
            int dup = syscall(SYS_pidfd_getfd, self, fd, 0); // as the monitor reads its kind
            int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            int rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
            int e = rc < 0 ? -errno : 0;
            struct seccomp_notif_addfd add = {.id = req.id, .flags = SECCOMP_ADDFD_FLAG_SETFD, .srcfd = s, .newfd = fd};
            ioctl(l, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
            close(s);
            close(dup);
            respond(l, req.id, 0, e, 0);
        }
    }
    close(self);
}

static double once(int mode) {
    struct run r = {.mode = mode, .listener = -1};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.ready, NULL);
    pthread_t t;
    pthread_create(&t, NULL, client, &r);
    if (mode != NATIVE) {
        pthread_mutex_lock(&r.mu);
        while (r.listener < 0) pthread_cond_wait(&r.ready, &r.mu);
        pthread_mutex_unlock(&r.mu);
        supervise(&r);
    }
    pthread_join(t, NULL);
    if (r.listener >= 0) close(r.listener);
    return r.secs / n_connects * 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc > 1) n_connects = atoi(argv[1]);
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n_connects <= 0 || rounds <= 0 || rounds > 100) {
        fprintf(stderr, "usage: notiffloor [N] [R]\n");
        return 2;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    server.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    socklen_t len = sizeof server;
    if (bind(l, (struct sockaddr *)&server, sizeof server) || listen(l, 4096) ||
        getsockname(l, (struct sockaddr *)&server, &len)) {
        perror("listen");
        return 1;
    }
    pthread_t a;
    pthread_create(&a, NULL, acceptor, &l);
    double us[MODES][100];
    for (int i = 0; i < rounds; i++)
        for (int m = 0; m < MODES; m++) us[m][i] = once(m);
    for (int m = 0; m < MODES; m++) {
        qsort(us[m], rounds, sizeof(double), cmp);
        printf("%s %.1f\n", names[m], us[m][rounds / 2]);
    }
    return 0;
}
