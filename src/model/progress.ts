/** Progress of a long operation, reported as data; the CLI decides how to show it. */
export interface Progress {
  bytesDone: bigint;
  bytesTotal: bigint;
  /** What is being worked on, for display. */
  stage?: string;
}

export type ProgressListener = (p: Progress) => void;

/** Options every long operation (a conversion, a dump) accepts. */
export interface LongRunOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}
