// A single-threaded process that spends its life in nanosleep (interrupted, it resumes through
// restart_syscall and the kernel's restart_block). Usage: sleeper ROUNDS MS. Prints "ok ROUNDS"
// (the rounds done: a SIGALRM ends it early), or why a sleep failed or ended early (exit 1).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t done;

static void on_alarm(int sig) {
  (void)sig;
  done = 1;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 10;
  long ms = argc > 2 ? atol(argv[2]) : 500;
  signal(SIGALRM, on_alarm);
  int i;
  for (i = 0; i < rounds && !done; i++) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    double start = now();
    if (nanosleep(&t, 0) != 0) {
      if (errno == EINTR && done) break;
      printf("nanosleep failed: %s\n", strerror(errno));
      return 1;
    }
    if (now() - start < ms / 1e3) {
      printf("woke early\n");
      return 1;
    }
  }
  printf("ok %d\n", i);
  return 0;
}
