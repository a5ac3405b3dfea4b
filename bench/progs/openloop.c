// Monitor throughput: THREADS threads each open and close a file COUNT times.
// Every open is one notification the monitor answers (by emulation); close is
// decided in the kernel. Prints opens per second.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *path;
static long count;

static void *loop(void *arg) {
    (void)arg;
    for (long i = 0; i < count; i++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            perror("open");
            exit(1);
        }
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: openloop FILE THREADS COUNT\n");
        return 2;
    }
    path = argv[1];
    int threads = atoi(argv[2]);
    count = atol(argv[3]);
    pthread_t t[64];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads && i < 64; i++) pthread_create(&t[i], NULL, loop, NULL);
    for (int i = 0; i < threads && i < 64; i++) pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.0f\n", threads * count / s);
    return 0;
}
