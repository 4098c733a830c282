/*
 * Test target for QEMU user-mode cores: WORKERS threads spin with known values in three registers,
 * then the main thread loads its own known values into the same registers and loads from address 0.
 *   main: R1/R2/R3 = MAIN_A/MAIN_B/MAIN_C; worker i: R1/R2/R3 = WORKER_A + i, WORKER_B + i, WORKER_C + i
 * R1-R3 per arch: aarch64 x19-x21, arm r4-r6, ppc64 r14-r16, s390x r6-r8 (values are truncated to
 * 32 bits on arm). QEMU 7.2's riscv64 user mode writes no cores, so there is no riscv64 variant.
 */
#include <pthread.h>
#include <unistd.h>

#define WORKERS 2
#define MAIN_A 0x0123456789abcdefULL
#define MAIN_B 0xfedcba9876543210ULL
#define MAIN_C 0x00c0ffee00c0ffeeULL
#define WORKER_A 0x1111000011110000ULL
#define WORKER_B 0x2222000022220000ULL
#define WORKER_C 0x3333000033330000ULL

typedef unsigned long word;

#if defined(__aarch64__)
#define LOAD3 "mov x19, %0\n\tmov x20, %1\n\tmov x21, %2\n\t"
#define CLOBBER3 "x19", "x20", "x21"
#define SPIN "1:\tb 1b"
#define FAULT "mov x9, #0\n\tldr x9, [x9]"
#define FAULT_CLOBBER "x9"
#elif defined(__arm__)
#define LOAD3 "mov r4, %0\n\tmov r5, %1\n\tmov r6, %2\n\t"
#define CLOBBER3 "r4", "r5", "r6"
#define SPIN "1:\tb 1b"
#define FAULT "mov r9, #0\n\tldr r9, [r9]"
#define FAULT_CLOBBER "r9"
#elif defined(__powerpc64__)
#define LOAD3 "mr 14, %0\n\tmr 15, %1\n\tmr 16, %2\n\t"
#define CLOBBER3 "r14", "r15", "r16"
#define SPIN "1:\tb 1b"
#define FAULT "li 9, 0\n\tld 9, 0(9)"
#define FAULT_CLOBBER "r9"
#elif defined(__s390x__)
#define LOAD3 "lgr %%r6, %0\n\tlgr %%r7, %1\n\tlgr %%r8, %2\n\t"
#define CLOBBER3 "r6", "r7", "r8"
#define SPIN "1:\tj 1b"
#define FAULT "lghi %%r1, 0\n\tlg %%r1, 0(%%r1)"
#define FAULT_CLOBBER "r1"
#else
#error "unsupported architecture"
#endif

static volatile int running;

static void *worker(void *arg) {
  word i = (word)arg;
  __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
  __asm__ volatile(LOAD3 SPIN
                   : : "r"((word)(WORKER_A + i)), "r"((word)(WORKER_B + i)), "r"((word)(WORKER_C + i))
                   : CLOBBER3, "memory");
  return 0;
}

int main(void) {
  pthread_t t;
  for (word i = 1; i <= WORKERS; i++) pthread_create(&t, 0, worker, (void *)i);
  while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) < WORKERS) usleep(1000);
  usleep(50000); /* let the workers reach their loop */
  __asm__ volatile(LOAD3 FAULT
                   : : "r"((word)MAIN_A), "r"((word)MAIN_B), "r"((word)MAIN_C)
                   : CLOBBER3, FAULT_CLOBBER, "memory");
  return 0;
}
