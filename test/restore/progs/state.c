// Restore test target for the state an ELF core lacks: works in DIR (its cwd), keeps DIR/data
// open read-write at offset 1000, a pipe open on fds 7 and 8 (dup2), RLIMIT_NOFILE 777/888, an
// alternate signal stack and a SIGUSR1 handler on it (SA_ONSTACK). The handler writes
// "usr1 on-altstack" (or "off-altstack") at the data file's offset, then creates "handled" in
// the working directory. Writes DIR/ready once all is set, then waits for signals.
// Usage: state DIR
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define ALT_SIZE (64 * 1024)
static char *alt;
static int data;

static void on_usr1(int sig) {
  (void)sig;
  char here;
  uintptr_t p = (uintptr_t)&here;
  int on = p >= (uintptr_t)alt && p < (uintptr_t)alt + ALT_SIZE;
  const char *msg = on ? "usr1 on-altstack" : "usr1 off-altstack";
  if (write(data, msg, strlen(msg)) < 0) _exit(2);
  int fd = open("handled", O_CREAT | O_WRONLY, 0600);
  if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) != 0) return 1;
  data = open("data", O_CREAT | O_RDWR | O_TRUNC, 0600);
  char block[4096];
  memset(block, '.', sizeof block);
  if (data < 0 || write(data, block, sizeof block) != sizeof block || lseek(data, 1000, SEEK_SET) != 1000) return 1;
  int p[2];
  if (pipe(p) != 0 || dup2(p[0], 7) < 0 || dup2(p[1], 8) < 0) return 1;
  close(p[0]);
  close(p[1]);
  struct rlimit lim = {777, 888};
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return 1;
  alt = malloc(ALT_SIZE);
  stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
  if (!alt || sigaltstack(&ss, NULL) != 0) return 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  if (sigaction(SIGUSR1, &sa, NULL) != 0) return 1;
  int ready = open("ready", O_CREAT | O_WRONLY, 0600);
  if (ready < 0) return 1;
  close(ready);
  for (;;) pause();
}
