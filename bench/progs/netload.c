// Network workloads for the runtime benchmark (bench/src/runtime.rs):
//   netload download IP PORT   connect, read until EOF; prints MB/s
//   netload connects IP PORT N N connects (each closed at once); prints connects/s
//   netload steps IP PORT N    the same, timing each step; prints the mean µs of
//                              socket, connect, setsockopt and close
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int dial(const char *ip, int port) {
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, ip, &sa.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("connect");
        exit(1);
    }
    return s;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "download")) {
        static char buf[1 << 16];
        double t0 = now();
        int s = dial(argv[2], atoi(argv[3]));
        long total = 0;
        ssize_t n;
        while ((n = read(s, buf, sizeof buf)) > 0) total += n;
        double dt = now() - t0;
        printf("%.1f %ld\n", total / dt / 1e6, total);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "connects")) {
        int n = atoi(argv[4]);
        double t0 = now();
        // Reset rather than close, so that no client port is left in TIME_WAIT
        // (thousands of them slow down the kernel's search for a free port).
        struct linger lg = {1, 0};
        for (int i = 0; i < n; i++) {
            int s = dial(argv[2], atoi(argv[3]));
            setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(s);
        }
        printf("%.0f\n", n / (now() - t0));
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "steps")) {
        int n = atoi(argv[4]);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(atoi(argv[3]));
        inet_pton(AF_INET, argv[2], &sa.sin_addr);
        struct linger lg = {1, 0};
        double t[4] = {0};
        for (int i = 0; i < n; i++) {
            double a = now();
            int s = socket(AF_INET, SOCK_STREAM, 0);
            double b = now();
            if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
                perror("connect");
                exit(1);
            }
            double c = now();
            setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            double d = now();
            close(s);
            double e = now();
            t[0] += b - a, t[1] += c - b, t[2] += d - c, t[3] += e - d;
        }
        printf("%.1f %.1f %.1f %.1f\n", t[0] / n * 1e6, t[1] / n * 1e6, t[2] / n * 1e6, t[3] / n * 1e6);
        return 0;
    }
    fprintf(stderr, "usage: netload download IP PORT | connects IP PORT N | steps IP PORT N\n");
    return 2;
}
