// The cost of creations and renames (which kernel-decided opens leave with the
// monitor: a new name may be a secret's). In DIR, COUNT times: create `c<i>`
// (open O_CREAT|O_EXCL|O_WRONLY, write 16 bytes, close), then rename every
// `c<i>` to `r<i>`, then unlink every `r<i>`. Prints three rates, operations per
// second: creations (with their write and close), renames, unlinks.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: createloop DIR COUNT\n");
        return 2;
    }
    if (chdir(argv[1]) != 0) {
        perror("chdir");
        return 1;
    }
    long count = atol(argv[2]);
    char a[64], b[64];
    double t0 = now();
    for (long i = 0; i < count; i++) {
        snprintf(a, sizeof a, "c%ld", i);
        int fd = open(a, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "sixteen bytes..\n", 16) != 16 || close(fd) != 0) {
            perror("create");
            return 1;
        }
    }
    double t1 = now();
    for (long i = 0; i < count; i++) {
        snprintf(a, sizeof a, "c%ld", i);
        snprintf(b, sizeof b, "r%ld", i);
        if (rename(a, b) != 0) {
            perror("rename");
            return 1;
        }
    }
    double t2 = now();
    for (long i = 0; i < count; i++) {
        snprintf(b, sizeof b, "r%ld", i);
        if (unlink(b) != 0) {
            perror("unlink");
            return 1;
        }
    }
    double t3 = now();
    printf("%.0f %.0f %.0f\n", count / (t1 - t0), count / (t2 - t1), count / (t3 - t2));
    return 0;
}
