// prctl(2) options and struct prctl_mm_map (include/uapi/linux/prctl.h), as restore uses them.

export const PR_SET_NAME = 15;
export const PR_SET_MM = 35;
export const PR_SET_MM_MAP = 14;
export const PR_GET_TID_ADDRESS = 40;

/** struct prctl_mm_map: eleven u64 bounds, the auxv pointer, then auxv_size and exe_fd (u32). */
export const PRCTL_MM_MAP_FIELDS = [
  'start_code',
  'end_code',
  'start_data',
  'end_data',
  'start_brk',
  'brk',
  'start_stack',
  'arg_start',
  'arg_end',
  'env_start',
  'env_end',
] as const;
export const PRCTL_MM_MAP_SIZE = PRCTL_MM_MAP_FIELDS.length * 8 + 8 + 4 + 4;
