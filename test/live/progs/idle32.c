// A program that only waits; compiled with -m32 to check 32-bit processes are refused clearly.
#include <unistd.h>

int main(void) {
  for (;;) pause();
}
