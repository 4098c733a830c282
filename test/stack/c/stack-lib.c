/* The shared library of the stack tests' PLT case: calls back into the program. */
#define NOINLINE __attribute__((noinline, noclone))

volatile int lib_sink;

NOINLINE int lib_inner(int (*callback)(int), int depth) {
  int r = callback(depth);
  lib_sink++;
  return r;
}

NOINLINE int lib_entry(int (*callback)(int), int depth) {
  int r = lib_inner(callback, depth + 1);
  lib_sink++;
  return r;
}
