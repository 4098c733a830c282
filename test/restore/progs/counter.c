// Restore test target: the main thread and THREADS-1 workers each count rounds for ever. A
// round loads known values, different in each thread, into rbx, rbp, r12-r15 and zmm0-zmm30
// (ymm0-ymm14 without AVX-512), spins checking them, then checks a slice of a heap buffer whose
// contents are known. Every thread writes its count to DIR/count.N about ten times a second
// (opening the file each time: a restored process has no open files). Any wrong register or
// byte writes DIR/fail and exits 1. Writes DIR/addrs ("counts ADDR") and DIR/ready first.
// Usage: counter DIR THREADS
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 8
#define BUF_WORDS (4u << 20)
static const char *dir;
static uint64_t *buffer;
volatile uint64_t counts[MAX_THREADS];
static uint64_t patterns[MAX_THREADS][31 * 8] __attribute__((aligned(64)));
static int avx512;

#define R(n) #n
#define LOAD512(n) "vmovdqa64 " R(n) "*64(%rdi), %zmm" R(n) "\n"
#define CHECK512(n) "vpcmpeqq " R(n) "*64(%rdi), %zmm" R(n) ", %k1\n kmovw %k1, %eax\n cmp $0xff, %eax\n jne 9f\n"
#define LOAD256(n) "vmovdqa " R(n) "*64(%rdi), %ymm" R(n) "\n"
#define CHECK256(n) "vpcmpeqq " R(n) "*64(%rdi), %ymm" R(n) ", %ymm15\n vpmovmskb %ymm15, %eax\n cmp $-1, %eax\n jne 9f\n"
#define EACH15(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)
#define EACH31(M) EACH15(M) M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) M(28) M(29) M(30)
// rdi: the thread's pattern (its first six words also go into the general registers); rsi: rounds.
#define GP_SET                                                                                   \
  "push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"                     \
  "mov 0(%rdi), %rbx\n mov 8(%rdi), %rbp\n mov 16(%rdi), %r12\n mov 24(%rdi), %r13\n"           \
  "mov 32(%rdi), %r14\n mov 40(%rdi), %r15\n xor %ecx, %ecx\n"
#define GP_CHECK                                                                                 \
  "cmp 0(%rdi), %rbx\n jne 9f\n cmp 8(%rdi), %rbp\n jne 9f\n cmp 16(%rdi), %r12\n jne 9f\n"     \
  "cmp 24(%rdi), %r13\n jne 9f\n cmp 32(%rdi), %r14\n jne 9f\n cmp 40(%rdi), %r15\n jne 9f\n"
#define GP_DONE                                                                                  \
  " inc %rcx\n cmp %rsi, %rcx\n jb 1b\n xor %eax, %eax\n jmp 8f\n"                              \
  "9: mov $-1, %rax\n"                                                                           \
  "8: pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n vzeroupper\n ret\n"
__asm__(".text\n .globl spin512\n spin512:\n" GP_SET EACH31(LOAD512) "1:\n" GP_CHECK EACH31(CHECK512) GP_DONE);
__asm__(".text\n .globl spin256\n spin256:\n" GP_SET EACH15(LOAD256) "1:\n" GP_CHECK EACH15(CHECK256) GP_DONE);
long spin512(const uint64_t *pattern, uint64_t rounds);
long spin256(const uint64_t *pattern, uint64_t rounds);

static void fail(const char *what, long t) {
  char path[4096], text[256];
  snprintf(path, sizeof path, "%s/fail", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  int n = snprintf(text, sizeof text, "thread %ld: %s\n", t, what);
  if (fd >= 0 && write(fd, text, n) < 0) exit(3);
  exit(1);
}

// Writes DIR/NAME through a temporary file. A second try is allowed: a process restored from a
// core without coreshot's note gets no open files back, so a write to a descriptor it opened just
// before the dump fails once (EBADF).
static void put(const char *name, const char *text) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  for (int attempt = 0;; attempt++) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok && rename(tmp, path) == 0) return;
    if (attempt == 1) exit(4);
  }
}

static uint64_t word(uint64_t i) { return i * 0x9e3779b97f4a7c15ull + 7; }

static void *count(void *arg) {
  long t = (long)arg;
  struct timespec last = {0, 0};
  for (uint64_t round = 0;; round++) {
    long r = avx512 ? spin512(patterns[t], 20000) : spin256(patterns[t], 20000);
    if (r != 0) fail("a register was clobbered", t);
    uint64_t from = (round * 4096 + (uint64_t)t * 65536) % BUF_WORDS;
    for (uint64_t i = from; i < from + 4096 && i < BUF_WORDS; i++)
      if (buffer[i] != word(i)) fail("the buffer changed", t);
    counts[t]++;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - last.tv_sec) * 1000000000L + (now.tv_nsec - last.tv_nsec) > 100000000L) {
      char name[32], text[64];
      snprintf(name, sizeof name, "count.%ld", t);
      snprintf(text, sizeof text, "%llu\n", (unsigned long long)counts[t]);
      put(name, text);
      last = now;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  dir = argv[1];
  long threads = atol(argv[2]);
  if (threads < 1 || threads > MAX_THREADS) return 2;
  buffer = malloc(BUF_WORDS * sizeof *buffer);
  for (uint64_t i = 0; i < BUF_WORDS; i++) buffer[i] = word(i);
  for (long t = 0; t < MAX_THREADS; t++)
    for (unsigned i = 0; i < 31 * 8; i++) patterns[t][i] = word(i + 1000 * (uint64_t)(t + 1));
  __builtin_cpu_init();
  avx512 = __builtin_cpu_supports("avx512f");
  char text[64];
  snprintf(text, sizeof text, "counts %p\n", (void *)counts);
  put("addrs", text);
  pthread_t tid;
  for (long t = 1; t < threads; t++) pthread_create(&tid, 0, count, (void *)t);
  put("ready", "1\n");
  count(0);
}
