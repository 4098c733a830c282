/*
 * Test target for kernel cores and gcore (x86_64 and i386): WORKERS threads each park in a pause()
 * loop with known values in two callee-saved registers; then the main thread loads its own known
 * values and either faults (argv[1] = "crash") or parks like the workers (argv[1] = "wait"),
 * after printing "ready" on stdout.
 *   x86_64: main r12/r13/r14 = MAIN_A/MAIN_B/MAIN_C, worker i r12/r13 = WORKER_A + i / WORKER_B + i
 *   i386:   main esi/edi = MAIN_A/MAIN_B (low 32 bits), worker i esi/edi likewise (low 32 bits)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WORKERS 3
#define MAIN_A 0x0123456789abcdefULL
#define MAIN_B 0xfedcba9876543210ULL
#define MAIN_C 0x00c0ffee00c0ffeeULL
#define WORKER_A 0x1111000011110000ULL
#define WORKER_B 0x2222000022220000ULL

static volatile int parked;

static void park(unsigned long long a, unsigned long long b) {
#ifdef __x86_64__
  __asm__ volatile("mov %0, %%r12\n\tmov %1, %%r13\n"
                   "1:\tmov $34, %%eax\n\tsyscall\n\tjmp 1b" /* pause() forever */
                   : : "r"(a), "r"(b) : "r12", "r13", "rax", "rcx", "r11", "memory");
#else
  __asm__ volatile("mov %0, %%esi\n\tmov %1, %%edi\n"
                   "1:\tmov $29, %%eax\n\tint $0x80\n\tjmp 1b" /* pause() forever */
                   : : "r"((unsigned)a), "r"((unsigned)b) : "esi", "edi", "eax", "memory");
#endif
}

static void *worker(void *arg) {
  unsigned long long i = (unsigned long)arg;
  __atomic_add_fetch(&parked, 1, __ATOMIC_SEQ_CST);
  park(WORKER_A + i, WORKER_B + i);
  return 0;
}

int main(int argc, char **argv) {
  pthread_t t;
  for (unsigned long i = 1; i <= WORKERS; i++) pthread_create(&t, 0, worker, (void *)i);
  while (__atomic_load_n(&parked, __ATOMIC_SEQ_CST) < WORKERS) usleep(1000);
  usleep(20000); /* let the workers reach pause() */
  if (argc > 1 && strcmp(argv[1], "wait") == 0) {
    printf("ready\n");
    fflush(stdout);
    park(MAIN_A, MAIN_B);
  }
#ifdef __x86_64__
  __asm__ volatile("mov %0, %%r12\n\tmov %1, %%r13\n\tmov %2, %%r14\n\txor %%eax, %%eax\n\tmov (%%rax), %%eax"
                   : : "r"(MAIN_A), "r"(MAIN_B), "r"(MAIN_C) : "r12", "r13", "r14", "rax", "memory");
#else
  __asm__ volatile("mov %0, %%esi\n\tmov %1, %%edi\n\txor %%eax, %%eax\n\tmov (%%eax), %%eax"
                   : : "r"((unsigned)MAIN_A), "r"((unsigned)MAIN_B) : "esi", "edi", "eax", "memory");
#endif
  return 0;
}
