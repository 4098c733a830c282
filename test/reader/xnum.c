// PN_XNUM target: one region of PAGES pages whose protections alternate, so that it becomes
// PAGES separate mappings; page i holds the marker 0x5a5a000000000000 | i. Writes the region's
// address to "addrs", prints "ready", then crashes (argv[1] == "crash").
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PAGES 70000

int main(int argc, char **argv) {
  long page = 4096;
  char *base = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return 2;
  for (long i = 0; i < PAGES; i++) *(uint64_t *)(base + i * page) = 0x5a5a000000000000ull | (uint64_t)i;
  for (long i = 1; i < PAGES; i += 2)
    if (mprotect(base + i * page, page, PROT_READ) != 0) return 3;
  FILE *f = fopen("addrs", "w");
  fprintf(f, "region %p pages %d\n", (void *)base, PAGES);
  fclose(f);
  printf("ready\n");
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "crash") == 0) *(volatile int *)16 = 1;
  return 0;
}
