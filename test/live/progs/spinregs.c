// Spins with known values in its general registers (rbx, rbp, r12-r15) and vector registers
// (zmm0-zmm30 with AVX-512, else ymm0-ymm14), checking all of them on every round, so that any
// register a ptrace user fails to put back is caught. Usage: spinregs SECONDS. Prints
// "ok ROUNDS" when the time is up, or "clobbered" (exit 1) at the first wrong register.
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile int stop_spinning;
uint64_t spin_pattern[31 * 8] __attribute__((aligned(64)));

// long spin512(void) / long spin256(void): rounds done, or -1 when a register was clobbered.
#define R(n) #n
#define LOAD512(n) "vmovdqa64 spin_pattern+" R(n) "*64(%rip), %zmm" R(n) "\n"
#define CHECK512(n) \
  "vpcmpeqq spin_pattern+" R(n) "*64(%rip), %zmm" R(n) ", %k1\n kmovw %k1, %eax\n cmp $0xff, %eax\n jne 9f\n"
#define LOAD256(n) "vmovdqa spin_pattern+" R(n) "*64(%rip), %ymm" R(n) "\n"
#define CHECK256(n) \
  "vpcmpeqq spin_pattern+" R(n) "*64(%rip), %ymm" R(n) ", %ymm15\n vpmovmskb %ymm15, %eax\n cmp $-1, %eax\n jne 9f\n"
#define EACH15(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)
#define EACH31(M) EACH15(M) M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) M(28) M(29) M(30)
#define GP_SET                                                                                   \
  "push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"                     \
  "movabs $0x1111222233334444, %rbx\n movabs $0x5555666677778888, %rbp\n"                      \
  "movabs $0x99990000aaaabbbb, %r12\n movabs $0xccccddddeeeeffff, %r13\n"                      \
  "movabs $0x0123456789abcdef, %r14\n movabs $0xfedcba9876543210, %r15\n xor %ecx, %ecx\n"
#define GP_CHECK                                                                                 \
  "movabs $0x1111222233334444, %rax\n cmp %rax, %rbx\n jne 9f\n"                                \
  "movabs $0x5555666677778888, %rax\n cmp %rax, %rbp\n jne 9f\n"                                \
  "movabs $0x99990000aaaabbbb, %rax\n cmp %rax, %r12\n jne 9f\n"                                \
  "movabs $0xccccddddeeeeffff, %rax\n cmp %rax, %r13\n jne 9f\n"                                \
  "movabs $0x0123456789abcdef, %rax\n cmp %rax, %r14\n jne 9f\n"                                \
  "movabs $0xfedcba9876543210, %rax\n cmp %rax, %r15\n jne 9f\n"
#define GP_DONE                                                                                  \
  " inc %rcx\n cmpl $0, stop_spinning(%rip)\n je 1b\n mov %rcx, %rax\n jmp 8f\n"                \
  "9: mov $-1, %rax\n"                                                                           \
  "8: pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n vzeroupper\n ret\n"

__asm__(".text\n .globl spin512\n spin512:\n" GP_SET EACH31(LOAD512) "1:\n" GP_CHECK EACH31(CHECK512) GP_DONE);
__asm__(".text\n .globl spin256\n spin256:\n" GP_SET EACH15(LOAD256) "1:\n" GP_CHECK EACH15(CHECK256) GP_DONE);
long spin512(void);
long spin256(void);

static void on_alarm(int sig) {
  (void)sig;
  stop_spinning = 1;
}

int main(int argc, char **argv) {
  for (unsigned i = 0; i < sizeof spin_pattern / sizeof *spin_pattern; i++)
    spin_pattern[i] = 0x9e3779b97f4a7c15ull * (i + 1);
  signal(SIGALRM, on_alarm);
  alarm(argc > 1 ? (unsigned)atoi(argv[1]) : 5);
  __builtin_cpu_init();
  long rounds = __builtin_cpu_supports("avx512f") ? spin512() : spin256();
  if (rounds < 0) {
    printf("clobbered\n");
    return 1;
  }
  printf("ok %ld\n", rounds);
  return 0;
}
