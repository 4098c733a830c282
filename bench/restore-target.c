// Restore benchmark target: maps argv[1] MiB of anonymous memory (MAP_NORESERVE), makes the
// first argv[2] MiB of it non-zero page by page (the rest stays untouched: holes in a core), then
// crashes for a kernel core.
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
  size_t map = (argc > 1 ? strtoul(argv[1], NULL, 10) : 1024) << 20;
  size_t touch = (argc > 2 ? strtoul(argv[2], NULL, 10) : 1024) << 20;
  char *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return 2;
  for (size_t i = 0; i < touch && i < map; i += 4096) p[i] = (char)(1 + (i >> 12) % 251);
  *(volatile int *)16 = 1;
  return 0;
}
