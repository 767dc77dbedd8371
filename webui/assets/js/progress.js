// Words for a job's state and progress (pure: the jobs panel and its tests use it).

/** "step 5/20 · 2.1 it/s · ETA 7 s" (slow: "8.4 s/it") from a progress record {stage, step, total, its, eta_seconds}. */
export function progressText(progress) {
  if (!progress) return '';
  if (progress.stage === 'loading') return 'loading the model…';
  if (progress.stage === 'saving') return 'saving…';
  const parts = [];
  if (progress.total) parts.push(`step ${progress.step ?? 0}/${progress.total}`);
  if (progress.its) parts.push(speed(progress.its));
  if (progress.eta_seconds !== undefined && progress.eta_seconds !== null) parts.push(`ETA ${duration(progress.eta_seconds)}`);
  return parts.join(' · ');
}

/** Iterations per second as A1111 shows them: "2.1 it/s", "12 it/s", or below 1 "8.4 s/it". */
export function speed(its) {
  if (its >= 10) return `${Math.round(its)} it/s`;
  if (its >= 1) return `${its.toFixed(1)} it/s`;
  return `${(1 / its).toFixed(1)} s/it`;
}

/** 7 → "7 s"; 95 → "1 min 35 s". */
export function duration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

/** "queued · #2", "running", "finished", ... */
export function statusText(status, position) {
  if (status === 'queued') return position ? `queued · #${position}` : 'queued';
  if (status === 'started') return 'running';
  return status ?? '';
}

/** "512×768 · 20 steps · 2 images · tiny" from what the job's request says. */
export function jobSummary(job) {
  const request = job.request ?? {};
  const parts = [];
  if (request.width && request.height) parts.push(`${request.width}×${request.height}`);
  if (request.steps) parts.push(`${request.steps} steps`);
  if (request.batch_size > 1) parts.push(`${request.batch_size} images`);
  const model = job.model ?? request.model;
  if (model) parts.push(model);
  return parts.join(' · ');
}

export const isActive = (status) => status === 'queued' || status === 'started';
