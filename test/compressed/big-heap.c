/* A process with 24 MiB of patterned heap (so its core spans many seekable zstd frames): prints
 * "ready ADDRESS" once the heap is filled, then waits to be dumped. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SIZE (24u << 20)

int main(void) {
  uint64_t *heap = malloc(SIZE);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < SIZE / 8; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    heap[i] = i % 4 ? i : x; /* compressible, but not trivially */
  }
  printf("ready %p\n", (void *)heap);
  fflush(stdout);
  for (;;) pause();
}
