// Prints a running checksum of data passed through a pipe between two threads, mixed with a
// buffer it keeps rewriting. Any disturbance (a failed or unrestarted system call, lost or
// duplicated data or signals, corrupted memory) changes what it prints or makes it exit early.
// Usage: checksum ITERATIONS BUFFER_MIB PAUSE_US [hold] (the writer's pause between items; the
// output does not depend on it; with "hold" the last item waits for a SIGALRM, so that the
// program lives as long as its user needs). Counts SIGRTMIN+6 signals (SA_RESTART), prints them.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static unsigned iterations;
static long pause_ns;
static volatile sig_atomic_t signals;
static volatile sig_atomic_t released = 1;

static void on_signal(int sig) {
  (void)sig;
  signals++;
}

static void on_alarm(int sig) {
  (void)sig;
  released = 1;
}

static void *writer(void *arg) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, 0);
  for (uint32_t i = 0; i < iterations; i++) {
    struct timespec ms = {0, 1000000};
    while (i + 1 == iterations && !released) nanosleep(&ms, 0);
    if (write(fds[1], &i, sizeof i) != sizeof i) {
      printf("write failed: %s\n", strerror(errno));
      exit(2);
    }
    struct timespec ts = {0, pause_ns};
    if (pause_ns > 0 && nanosleep(&ts, 0) != 0) {
      printf("nanosleep failed: %s\n", strerror(errno));
      exit(3);
    }
  }
  close(fds[1]);
  return arg;
}

int main(int argc, char **argv) {
  iterations = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
  size_t size = (size_t)(argc > 2 ? atoi(argv[2]) : 16) << 20;
  pause_ns = (argc > 3 ? atol(argv[3]) : 200) * 1000;
  released = !(argc > 4 && strcmp(argv[4], "hold") == 0);
  uint64_t *buf = malloc(size);
  size_t words = size / sizeof *buf;
  for (size_t i = 0; i < words; i++) buf[i] = i * 0x9e3779b97f4a7c15ull;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGRTMIN + 6, &sa, 0);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, 0);
  if (pipe(fds) != 0) return 1;
  pthread_t t;
  pthread_create(&t, 0, writer, 0);
  uint64_t sum = 0;
  uint32_t v, count = 0;
  ssize_t n;
  while ((n = read(fds[0], &v, sizeof v)) == sizeof v) {
    size_t at = (v * 2654435761u) % words;
    buf[at] = buf[at] * 31 + v;
    sum = sum * 1000003 + buf[at] + buf[(at + 1) % words];
    if (++count % 1000 == 0) printf("%u %016llx\n", count, (unsigned long long)sum);
  }
  if (n != 0) {
    printf("read failed: %s\n", strerror(errno));
    return 1;
  }
  pthread_join(t, 0);
  printf("done %u %016llx signals %d\n", count, (unsigned long long)sum, (int)signals);
  return 0;
}
