// The kernel's gate pages: mapped at a fixed address into every process of some architectures.
/**
 * Pages the kernel maps at a fixed address into every process of an architecture (its gate
 * area, a core's last segment), by architecture name, with the name /proc/PID/maps gives them:
 * x86_64's VSYSCALL_ADDR (uapi/asm/vsyscall.h), 32-bit arm's vectors page (CONFIG_KUSER_HELPERS).
 */
export const GATE_PAGES: Readonly<Record<string, { start: bigint; name: string }>> = {
  x86_64: { start: 0xffffffffff600000n, name: '[vsyscall]' },
  arm: { start: 0xffff0000n, name: '[vectors]' },
};
