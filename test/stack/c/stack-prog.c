/*
 * A program with known call chains for the stack tests. Every thread goes through noinline
 * functions (and one always_inline one) before it stops. argv[1] picks how the process ends:
 *   crash    the main thread dereferences a bad pointer while 3 workers sleep in libc
 *   signal   the main thread crashes inside a SIGUSR1 handler it raised itself
 *   siginfo  the same with the handler installed with SA_SIGINFO (an rt signal frame)
 *   plt      the main thread crashes in a shared library it called through the PLT
 *            (libstack-lib.so, built from stack-lib.c; only when linked with -DWITH_LIB)
 *   null     the main thread calls through a null function pointer
 *   wait     prints "ready" once the workers sleep, then sleeps in main_wait for ever
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static pthread_barrier_t ready;
static volatile int sink;
static const char *mode = "crash";

#ifdef WITH_LIB
extern int lib_entry(int (*callback)(int), int depth);
#endif

NOINLINE void crash_here(int *where) {
  *where = 42;
  sink++;
}

static inline __attribute__((always_inline)) void inlined_step(int n) {
  if (n > 0) crash_here((int *)(long)(n & 0));
  sink += n;
}

NOINLINE void on_signal_inner(int sig) { inlined_step(sig); }

NOINLINE void on_signal(int sig) {
  on_signal_inner(sig);
  sink++;
}

#ifdef WITH_LIB
NOINLINE int lib_callback(int n) {
  crash_here((int *)(long)(n & 0));
  return n;
}
#endif

static void (*volatile nowhere)(int);

NOINLINE void null_call(int n) {
  nowhere(n);
  sink++;
}

NOINLINE void main_wait(void) {
  for (;;) pause();
}

NOINLINE void main_level3(int n) {
  if (strcmp(mode, "crash") == 0) inlined_step(n);
  else if (strcmp(mode, "signal") == 0 || strcmp(mode, "siginfo") == 0) raise(SIGUSR1);
  else if (strcmp(mode, "null") == 0) null_call(n);
#ifdef WITH_LIB
  else if (strcmp(mode, "plt") == 0) sink += lib_entry(lib_callback, n);
#endif
  else {
    printf("ready\n");
    fflush(stdout);
    main_wait();
  }
  sink++;
}

NOINLINE void main_level2(int n) {
  main_level3(n + 1);
  sink++;
}

NOINLINE void main_level1(int n) {
  main_level2(n + 1);
  sink++;
}

NOINLINE void worker_sleep(int id) {
  pthread_barrier_wait(&ready);
  for (;;) sleep(1000 + id);
}

NOINLINE void worker_level2(int id) {
  worker_sleep(id);
  sink++;
}

NOINLINE void *worker_main(void *arg) {
  worker_level2((int)(long)arg);
  sink++;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) mode = argv[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  /* The handler ignores the two more arguments SA_SIGINFO passes. */
  if (strcmp(mode, "siginfo") == 0) sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_barrier_init(&ready, NULL, 4);
  pthread_t t[3];
  for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker_main, (void *)i);
  pthread_barrier_wait(&ready);
  main_level1(1);
  return sink;
}
