// Four threads: three block in pause(), the main one spins in spin_here() with known vector values
// in zmm0 (ymm0 on a CPU without AVX-512: its low half, {1..8}, is the same either way) and in
// r12 and r13.
#include <immintrin.h>
#include <pthread.h>
#include <unistd.h>

static void *worker(void *arg) {
  for (;;) pause();
  return arg;
}

__attribute__((noinline, target("avx512f"))) static void load512(void) {
  __m512i v = _mm512_set_epi32(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
  __asm__ volatile("vmovdqa64 %0, %%zmm0" : : "v"(v) : "xmm0");
}

__attribute__((noinline, target("avx"))) static void load256(void) {
  __m256i v = _mm256_set_epi32(8, 7, 6, 5, 4, 3, 2, 1);
  __asm__ volatile("vmovdqa %0, %%ymm0" : : "x"(v) : "xmm0");
}

__attribute__((noinline)) void spin_here(void) {
  if (__builtin_cpu_supports("avx512f")) load512();
  else load256();
  __asm__ volatile("mov $0x1122334455667788, %%r12\n\tmov $0x0badc0de, %%r13" : : : "r12", "r13");
  for (;;) __asm__ volatile("" ::: "memory");
}

int main(void) {
  __builtin_cpu_init();
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, worker, 0);
  spin_here();
}
