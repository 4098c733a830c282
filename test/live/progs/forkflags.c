// A process with private areas a fork does not copy as they are: MADV_DONTFORK (two adjacent
// areas of different protections, then one alone) and MADV_WIPEONFORK, one area with both. Its
// main thread keeps checking their contents between sched_yield() calls. Prints the areas'
// addresses ("areas A1 A2 B C", each 1 MiB, filled with 'a', 'b', 'c', 'd') when ready; on
// SIGALRM prints "ok" and exits, or "bad ..." and exit 1 as soon as a byte changed.
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (1 << 20)

static volatile sig_atomic_t done;

static void on_alarm(int sig) {
  (void)sig;
  done = 1;
}

static char *area(char fill, int advice1, int advice2) {
  char *p = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  memset(p, fill, SIZE);
  if (advice1 && madvise(p, SIZE, advice1) != 0) return 0;
  if (advice2 && madvise(p, SIZE, advice2) != 0) return 0;
  return p;
}

static int intact(const char *p, char fill) {
  for (size_t i = 0; i < SIZE; i += 4096)
    if (p[i] != fill || p[i + 4095] != fill) return 0;
  return 1;
}

int main(void) {
  // Two adjacent 1 MiB halves of one mapping: DONTFORK, the second made read-only (two areas).
  char *a = mmap(0, 2 * SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) return 1;
  memset(a, 'a', 2 * SIZE);
  if (madvise(a, 2 * SIZE, MADV_DONTFORK) != 0 || mprotect(a + SIZE, SIZE, PROT_READ) != 0) return 1;
  char *b = area('b', MADV_DONTFORK, 0);
  char *c = area('c', MADV_WIPEONFORK, 0);
  char *d = area('d', MADV_DONTFORK, MADV_WIPEONFORK);
  if (!b || !c || !d) return 1;
  signal(SIGALRM, on_alarm);
  printf("areas %p %p %p %p\n", (void *)a, (void *)b, (void *)c, (void *)d);
  fflush(stdout);
  unsigned long checks = 0;
  while (!done) {
    if (!intact(a, 'a') || !intact(a + SIZE, 'a') || !intact(b, 'b') || !intact(c, 'c') || !intact(d, 'd')) {
      printf("bad after %lu checks\n", checks);
      return 1;
    }
    checks++;
    sched_yield();
  }
  printf("%s\n", checks > 0 ? "ok" : "never checked");
  return 0;
}
