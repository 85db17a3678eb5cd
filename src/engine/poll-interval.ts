import type { Job } from '../model.js';

/**
 * Adaptive `Retry-After` for the monitor: clients poll often while a job is young, and back off
 * as it ages, so a long job does not cost a steady stream of polls. Seconds.
 */
export function suggestedPollSeconds(job: Job, now: number): number {
  const age = (now - job.createdAt) / 1000;
  if (age < 10) return 1;
  if (age < 60) return 2;
  if (age < 600) return 5;
  if (age < 3600) return 15;
  return 30;
}
