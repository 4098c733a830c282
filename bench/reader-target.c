// Benchmark target: touches argv[1] MiB of heap (every page non-zero, so the kernel dumps it),
// starts three idle threads, then crashes.
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static void *idle(void *arg) {
  for (;;) pause();
  return arg;
}

int main(int argc, char **argv) {
  size_t bytes = (argc > 1 ? strtoul(argv[1], NULL, 10) : 1024) << 20;
  char *p = malloc(bytes);
  if (!p) return 2;
  for (size_t i = 0; i < bytes; i += 4096) p[i] = (char)(1 + (i >> 12) % 251);
  pthread_t t;
  for (int i = 0; i < 3; i++) pthread_create(&t, NULL, idle, NULL);
  usleep(200000);
  *(volatile int *)16 = 1;
  return 0;
}
