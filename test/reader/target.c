// Test target for the reader's differential tests: threads, a global, a heap block, a stack
// buffer and an inaccessible mapping, each holding a marker; writes their addresses to the file
// "addrs" in the working directory, prints "ready", then crashes (argv[1] == "crash") or waits.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef VARIANT
#define VARIANT 0
#endif

char data_marker[64] = "CORESHOT-DATA-MARKER-0123456789abcdef";
static pthread_barrier_t ready;

__attribute__((noinline)) void *worker(void *arg) {
  volatile char buf[256];
  memset((char *)buf, 'W' + (int)(long)arg, sizeof buf);
  pthread_barrier_wait(&ready);
  for (;;) pause();
  return (void *)(long)(buf[0] + VARIANT);
}

int main(int argc, char **argv) {
  char stack_marker[128] = "CORESHOT-STACK-MARKER";
  char *heap = malloc(4096);
  for (int i = 0; i < 4096; i++) heap[i] = (char)(i * 7 + VARIANT);
  memcpy(heap, "CORESHOT-HEAP-MARKER", 20);
  void *none = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pthread_t t[3];
  pthread_barrier_init(&ready, NULL, 4);
  for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  pthread_barrier_wait(&ready);
  FILE *f = fopen("addrs", "w");
  fprintf(f, "data %p heap %p stack %p text %p none %p\n", (void *)data_marker, (void *)heap,
          (void *)stack_marker, (void *)&worker, none);
  fclose(f);
  printf("ready\n");
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "crash") == 0) *(volatile int *)16 = 1;
  for (;;) pause();
}
