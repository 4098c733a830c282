/*
 * Test target for the maps, notes and read views (x86_64): WORKERS threads block in pause();
 * the main thread takes a brk heap block and a shared anonymous page, writes its own
 * /proc/self/maps to maps.txt and the thread ids to tids.txt (in the working directory), then
 * loads ymm0..ymm15 with known values (register i, 64-bit lane j = YMM_BASE + 16 * i + j) and
 * faults in the same asm block, so nothing between the load and the core clobbers them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WORKERS 2
#define YMM_BASE 0x5100000000000000ULL

/* `read views_marker 16` shows this. */
const char views_marker[] = "coreshot-views-marker";
static pid_t tids[WORKERS];
static volatile int started;
static unsigned long long lanes[16][4] __attribute__((aligned(32)));

static void *worker(void *arg) {
  long i = (long)arg;
  tids[i] = (pid_t)syscall(SYS_gettid);
  __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return 0;
}

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "r"), *out = fopen(to, "w");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
}

int main(void) {
  pthread_t t;
  for (long i = 0; i < WORKERS; i++) pthread_create(&t, 0, worker, (void *)i);
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < WORKERS) sched_yield();
  char *heap = malloc(64);
  strcpy(heap, "coreshot-heap-marker");
  char *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  strcpy(shared, "coreshot-shared-marker");
  copy_file("/proc/self/maps", "maps.txt");
  FILE *f = fopen("tids.txt", "w");
  fprintf(f, "%d", getpid());
  for (int i = 0; i < WORKERS; i++) fprintf(f, " %d", tids[i]);
  fprintf(f, "\n");
  fclose(f);
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 4; j++) lanes[i][j] = YMM_BASE + 16 * i + j;
  __asm__ volatile(
      "vmovdqa 0(%0), %%ymm0\n\tvmovdqa 32(%0), %%ymm1\n\tvmovdqa 64(%0), %%ymm2\n\t"
      "vmovdqa 96(%0), %%ymm3\n\tvmovdqa 128(%0), %%ymm4\n\tvmovdqa 160(%0), %%ymm5\n\t"
      "vmovdqa 192(%0), %%ymm6\n\tvmovdqa 224(%0), %%ymm7\n\tvmovdqa 256(%0), %%ymm8\n\t"
      "vmovdqa 288(%0), %%ymm9\n\tvmovdqa 320(%0), %%ymm10\n\tvmovdqa 352(%0), %%ymm11\n\t"
      "vmovdqa 384(%0), %%ymm12\n\tvmovdqa 416(%0), %%ymm13\n\tvmovdqa 448(%0), %%ymm14\n\t"
      "vmovdqa 480(%0), %%ymm15\n\t"
      "xor %%eax, %%eax\n\tmov (%%rax), %%eax"
      : : "r"(lanes) : "rax", "memory");
  return 0;
}
