// A Node.js process whose JS heap keeps changing: it rewrites a large array of small integers
// (V8 keeps it in a MADV_DONTFORK area) in a loop, every element set to the generation number,
// from the first to the last. So the array at one instant is a run of generation G+1 followed by
// a run of G; marker values around it let a reader find it in a core. It checks the whole array
// after each generation and, once the file named by its argument exists, prints
// "ok GENERATIONS" and exits (or "bad ..." and exit 1 if the array was ever not as written).
// Usage: node jsarray.js STOPFILE ELEMENTS
'use strict';
const fs = require('node:fs');

const stop = process.argv[2];
const n = Number(process.argv[3] ?? 2000000);
const a = [];
for (let i = 0; i < n; i++) a.push(0);
a[0] = 0x1c0dec0d;
a[1] = 0x2badf00d;
a[n - 1] = 0x35eed5ee;
process.stdout.write(`ready ${n}\n`);
let g = 0;
for (;;) {
  g++;
  for (let i = 2; i < n - 1; i++) a[i] = g;
  for (let i = 2; i < n - 1; i++) {
    if (a[i] !== g) {
      process.stdout.write(`bad generation ${g} at ${i}: ${a[i]}\n`);
      process.exit(1);
    }
  }
  if (fs.existsSync(stop)) break;
}
process.stdout.write(`ok ${g}\n`);
