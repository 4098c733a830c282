// Target for the find tests: plants a UTF-8 marker in .data, a UTF-16LE marker and a byte
// pattern on the heap, and a regex-shaped marker on the stack, and reserves 16 TiB it never
// touches and excludes from the core (a sanitizer's shadow does this); writes the addresses to
// "addrs" in the working directory, then crashes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <uchar.h>

char text_marker[] = "FIND-UTF8-MARKER-7f3a";
static const unsigned char bytes_pattern[] = {0xde, 0xc0, 0xad, 0x0b, 0x00, 0xfe, 0xed, 0xfa};

int main(void) {
  char16_t wide[] = u"FIND-UTF16-MARKER";
  char16_t *heap_wide = malloc(sizeof wide);
  memcpy(heap_wide, wide, sizeof wide);
  unsigned char *heap_bytes = malloc(64);
  memset(heap_bytes, 0x5a, 64);
  memcpy(heap_bytes + 13, bytes_pattern, sizeof bytes_pattern);
  volatile char stack_marker[64];
  strcpy((char *)stack_marker, "user=alice;id=42;");
  size_t reserve_size = (size_t)16 << 40;
  void *reserve = mmap(NULL, reserve_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserve == MAP_FAILED || madvise(reserve, reserve_size, MADV_DONTDUMP) != 0) return 2;
  FILE *f = fopen("addrs", "w");
  fprintf(f, "text %p wide %p bytes %p regex %p reserve %p\n", (void *)text_marker, (void *)heap_wide,
          (void *)(heap_bytes + 13), (void *)stack_marker, reserve);
  fclose(f);
  *(volatile int *)16 = 1;
  return stack_marker[0];
}
