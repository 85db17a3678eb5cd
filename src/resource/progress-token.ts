import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers that tell the upstream where to report a job's progress, and with what token. */
export const PROGRESS_URL_HEADER = 'asyncgate-progress-url';
export const PROGRESS_TOKEN_HEADER = 'asyncgate-progress-token';

/**
 * Per-job progress tokens for the upstream: `POST {prefix}/jobs/{id}/progress` is authorised by a token sent
 * to the upstream with the job's request, never by client credentials. A token is HMAC-SHA256(server key, job id): unguessable without the
 * key, different for every job, and needing no storage — any gateway process sharing the store's key can
 * check it, so an upstream may report to whichever process its load balancer picks.
 */
export class ProgressTokens {
  private readonly key: Buffer;

  constructor(key: string) {
    this.key = Buffer.from(key, 'base64url');
  }

  /** The token the upstream gets for `jobId`. */
  issue(jobId: string): string {
    return createHmac('sha256', this.key).update('asyncgate-progress\0').update(jobId).digest('base64url');
  }

  /** Does `token` belong to `jobId`? Compared in constant time (the length of a token is no secret). */
  verify(jobId: string, token: string): boolean {
    const expected = Buffer.from(this.issue(jobId));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
