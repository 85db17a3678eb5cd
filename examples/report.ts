// The handler every example declares: a "report" built in steps, reporting progress and stopping on cancel.
// Body: {"steps": 5, "stepMs": 200} (both optional).
import { setTimeout as sleep } from 'node:timers/promises';
import type { HandlerContext } from 'asyncgate/node';

export async function buildReport({ jobId, request, progress, signal }: HandlerContext) {
  const { steps = 5, stepMs = 200 } = request.body ? request.json<{ steps?: number; stepMs?: number }>() : {};
  signal.addEventListener('abort', () => console.log(`report ${jobId ?? '(inline)'} aborted: ${String((signal.reason as Error).message)}`));
  for (let step = 1; step <= steps; step++) {
    await sleep(stepMs, undefined, { signal }); // rejects when the job is canceled
    await progress(step, steps, `step ${step} of ${steps}`);
  }
  return { report: 'ready', steps, jobId };
}

/** Where to listen and which database to use, from the environment: PORT=0 picks a free port. */
export const PORT = Number(process.env.PORT ?? 3000);
export const DB = process.env.DB ?? 'sqlite:./jobs.db';

/** What each example prints once it listens: its URL, then a curl line that submits a report job. */
export function listening(url: string): string {
  const base = url.replace(/\/$/, '');
  return `listening on ${base}\ntry: curl -i -X POST '${base}/reports' -H 'Prefer: respond-async' -H 'content-type: application/json' -d '{"steps":5}'`;
}
