// Creates COUNT separate mappings (alternating protections keep the kernel from merging them),
// then waits. Usage: manymaps COUNT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 70000;
  long page = sysconf(_SC_PAGESIZE);
  char *base = mmap(0, count * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return 1;
  for (long i = 0; i < count; i++) base[i * page] = (char)(i | 1);
  for (long i = 0; i < count; i += 2) {
    if (mprotect(base + i * page, page, PROT_READ) != 0) {
      perror("mprotect");
      return 1;
    }
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
