#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/fs.h>
#include <arpa/inet.h>
#define R(what, x) do { long r_ = (x); printf("%s: %ld errno=%d %s\n", what, r_, r_<0?errno:0, r_<0?strerror(errno):""); } while (0)
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_STREAM, 132);
    R("sctp socket", s);
    int fd = open(argc > 1 ? argv[1] : "/etc/hostname", O_RDONLY);
    R("open ro", fd);
    int fl = 0;
    R("getflags", ioctl(fd, FS_IOC_GETFLAGS, &fl));
    fl |= FS_APPEND_FL;
    R("setflags append", ioctl(fd, FS_IOC_SETFLAGS, &fl));
    fl &= ~FS_APPEND_FL;
    R("setflags back", ioctl(fd, FS_IOC_SETFLAGS, &fl));
    R("futimens", futimens(fd, NULL));
    struct timespec ts[2] = {{0, 0}, {0, 0}};
    R("utimensat fd NULL", syscall(280, fd, NULL, ts, 0));
    R("fchmod", fchmod(fd, 0644));
    R("fsetxattr", fsetxattr(fd, "user.x", "1", 1, 0));
    int p = open(argc > 1 ? argv[1] : "/etc/hostname", O_PATH);
    R("O_PATH", p);
    R("fchownat empty", fchownat(p, "", 0, 0, AT_EMPTY_PATH));
    R("fchmodat2 empty", syscall(452, p, "", 0644, AT_EMPTY_PATH));
    R("utimensat empty", utimensat(p, "", ts, AT_EMPTY_PATH));
    return 0;
}
