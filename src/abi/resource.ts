// Resource limits (asm-generic/resource.h): the RLIMIT_* numbers are the indices of these names,
// the order /proc/PID/limits lists them in.

export const RLIMIT_NAMES = [
  'cpu',
  'fsize',
  'data',
  'stack',
  'core',
  'rss',
  'nproc',
  'nofile',
  'memlock',
  'as',
  'locks',
  'sigpending',
  'msgqueue',
  'nice',
  'rtprio',
  'rttime',
] as const;

/** RLIM_INFINITY: "unlimited". */
export const RLIM_INFINITY = (1n << 64n) - 1n;
