// Holds MIB MiB of touched private memory that it shares copy-on-write with a forked child (both
// then sleep; the child dies with it). Reading such pages by pinning them (process_vm_readv)
// would make the process take a private copy of each. Usage: cowshared MIB. Prints "ready CHILD".
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  size_t size = (size_t)atol(argc > 1 ? argv[1] : "64") << 20;
  unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (size_t i = 0; i < size; i += 4096) memset(p + i, (int)((i >> 12) % 255) + 1, 4096);
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) pause();
  }
  printf("ready %d %p\n", (int)child, (void *)p);
  fflush(stdout);
  for (;;) pause();
}
