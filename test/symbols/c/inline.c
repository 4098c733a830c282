// Symbolisation fixture: -O2 code whose crash site sits under two always-inline functions,
// called from a noinline function, and an abort() path into libc (itself full of inlining).
#include <stdlib.h>
#include <string.h>

static volatile int sink;

__attribute__((noinline)) static void crash(int depth) {
  if (depth == 0) *(volatile int *)0 = 1;
  sink = depth;
}

static inline __attribute__((always_inline)) void inner(int x) {
  crash(x - 3);
  sink += x;
}

static inline __attribute__((always_inline)) void middle(int x) {
  inner(x + 1);
  sink += 2;
}

__attribute__((noinline)) void outer(int x) {
  middle(x);
  sink++;
}

__attribute__((noinline)) void give_up(void) {
  abort();
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "abort") == 0) give_up();
  outer(argc + 1);
  return 0;
}
