// Keeps creating short-lived threads (each itself creates one more), so threads appear and
// disappear while coreshot seizes the process.
#include <pthread.h>
#include <unistd.h>

static void *leaf(void *arg) {
  usleep(200);
  return arg;
}

static void *branch(void *arg) {
  pthread_t t;
  if (pthread_create(&t, 0, leaf, 0) == 0) pthread_join(t, 0);
  return arg;
}

int main(void) {
  for (;;) {
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], 0, branch, 0);
    for (int i = 0; i < 8; i++) pthread_join(t[i], 0);
  }
}
