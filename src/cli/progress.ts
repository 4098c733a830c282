import type { ProgressListener } from '../model/progress.js';

export interface ProgressDisplay {
  update: ProgressListener;
  stop(): void;
}

/** A progress bar on stderr when it is a terminal; otherwise nothing is drawn. */
export async function progressBar(label: string): Promise<ProgressDisplay> {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% {done}/{all} MiB {stage}`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    Presets.shades_classic,
  );
  let started = false;
  const mib = (n: bigint) => (Number(n) / 1048576).toFixed(0);
  return {
    update(p) {
      const payload = { done: mib(p.bytesDone), all: mib(p.bytesTotal), stage: p.stage ?? '' };
      const total = Math.max(1, Number(p.bytesTotal));
      if (!started) {
        bar.start(total, Number(p.bytesDone), payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(Number(p.bytesDone), payload);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
