import { z } from 'zod';
import type { Engine } from '../engine/engine.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { TERMINAL_STATES, type JobProgress } from '../model.js';
import { readBody } from '../intake/body.js';
import type { JsonSchema } from '../shared/json-schema.js';
import { JOB_ID } from './openapi-components.js';
import type { PrefixRoute } from './route-table.js';

/** A progress report is a few numbers and a line of text. */
const MAX_BODY_BYTES = 16 * 1024;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const reportSchema = z
  .object({
    percentComplete: z.number().min(0).max(100).optional(),
    current: count.optional(),
    total: count.optional(),
    message: z.string().max(1000).optional(),
  })
  .strict()
  .refine((r) => r.percentComplete !== undefined || r.current !== undefined || r.message !== undefined, {
    message: 'give at least one of percentComplete, current, message',
  })
  .refine((r) => r.total === undefined || (r.current !== undefined && r.current <= r.total), {
    message: 'total needs current, and current must not exceed it',
  });

/** The report as the OpenAPI document describes it: the same rules as reportSchema. */
const REPORT_JSON_SCHEMA: JsonSchema = {
  type: 'object',
  description: "The job's whole progress (not a patch): at least one of percentComplete, current, message",
  additionalProperties: false,
  properties: {
    percentComplete: { type: 'number', minimum: 0, maximum: 100 },
    current: { type: 'integer', minimum: 0 },
    total: { type: 'integer', minimum: 0, description: 'Needs current, at least as large' },
    message: { type: 'string', maxLength: 1000 },
  },
  anyOf: [{ required: ['percentComplete'] }, { required: ['current'] }, { required: ['message'] }],
};

/** `POST {prefix}/jobs/{id}/progress`: the upstream reports a job's progress, with the job's progress token. */
export function progressRoute(engine: Engine): PrefixRoute {
  return {
    methods: ['POST'],
    path: '/jobs/:id/progress',
    access: 'upstream',
    summary: "Report a running job's progress (the upstream, with the job's progress token)",
    params: { id: JOB_ID },
    body: { mediaType: 'application/json', schema: REPORT_JSON_SCHEMA, example: { current: 2, total: 75, message: 'indexing' } },
    responses: { 204: { description: 'Recorded: the monitor shows it, long polls and event streams are woken' } },
    problems: ['invalid-body', 'body-too-large', 'job-already-finished', 'job-not-found', 'job-gone'],
    async handle({ req, res, params }) {
      const id = params.id!;
      const progress = parseReport(await readBody(req, MAX_BODY_BYTES));
      const updated = await engine.reportProgress(id, progress);
      if (!updated) {
        const job = await engine.getJob(id);
        if (job && TERMINAL_STATES.has(job.state)) throw new AsyncgateError('job-already-finished', `the job has already ${job.state}; progress is no longer recorded`);
        // The progress token already proved the caller is the job's upstream: it may learn the job is gone.
        throw new AsyncgateError((await engine.tombstoneOwner(id)) !== undefined ? 'job-gone' : 'job-not-found');
      }
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
    },
  };
}

function parseReport(body: Buffer | null): JobProgress {
  if (!body) throw new AsyncgateError('invalid-body', 'send a JSON object: {"percentComplete": 40} or {"current": 2, "total": 75, "message": "…"}');
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AsyncgateError('invalid-body', 'the body is not JSON');
  }
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new AsyncgateError('invalid-body', `${where}${issue.message}`);
  }
  const { percentComplete, ...rest } = parsed.data;
  // A report is the whole progress, as a Progress header is: fields it leaves out are no longer known.
  return { ...rest, ...(percentComplete !== undefined ? { percent: percentComplete } : {}) };
}
