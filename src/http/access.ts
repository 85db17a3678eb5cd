import type { IncomingMessage } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { isJobId, sameOwner } from '../engine/ids.js';
import { credentialOwner } from '../engine/owner.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { Job } from '../model.js';
import { PROGRESS_TOKEN_HEADER, type ProgressTokens } from '../resource/progress-token.js';
import type { AdminAccess } from './admin-access.js';
import type { AccessGates } from './route-table.js';

export interface AccessOptions {
  engine: Engine;
  ownerSalt: string;
  ownerHeader: string | undefined;
  /** The admin and viewer tokens and the dashboard's sessions. */
  admin: AdminAccess;
  progressTokens: ProgressTokens;
}

/** The checks behind the route table's `access` column. */
export function accessGates(options: AccessOptions): AccessGates {
  const { engine, ownerSalt, ownerHeader, progressTokens, admin } = options;
  const gates: AccessGates = {
    owner(req, id) {
      return findJob(engine, id, credentialOwner(req.headers, ownerSalt, ownerHeader));
    },

    upstream(req, id) {
      // Checked before the job is even looked up: a caller without the token learns nothing, not even whether
      // the job exists. The upstream has no client credentials, so the token is all it has.
      const token = presentedToken(req);
      if (token === undefined) {
        throw new AsyncgateError('progress-token-required', `send the token the upstream request carried in ${PROGRESS_TOKEN_HEADER}, as Authorization: Bearer <token>`, {
          headers: { 'www-authenticate': 'Bearer realm="asyncgate-progress"' },
        });
      }
      if (!isJobId(id) || !progressTokens.verify(id, token)) throw new AsyncgateError('progress-token-invalid');
    },

    // The admin token (or an admin's dashboard session); the viewer's gets 403 forbidden.
    admin(req) {
      admin.requireAdmin(req);
    },

    // The admin or the viewer token, or either's session.
    viewer(req) {
      admin.identify(req);
    },
  };
  return gates;
}

/**
 * The job `caller` (an owner hash, null: no credentials) owns, if it exists and has not expired, else the
 * problem: `410 job-gone` only to its owner. Another caller's job, live, expired or deleted, answers exactly
 * as no job does (`404`): not even that it once existed is revealed.
 */
export async function findJob(engine: Engine, id: string, caller: string | null): Promise<Job> {
  if (!isJobId(id)) throw new AsyncgateError('job-not-found');
  const job = await engine.getJob(id);
  if (!job) {
    const owner = await engine.tombstoneOwner(id);
    throw new AsyncgateError(owner !== undefined && sameOwner(owner, caller) ? 'job-gone' : 'job-not-found');
  }
  if (!sameOwner(job.owner, caller)) throw new AsyncgateError('job-not-found');
  // Expired but not yet swept: gone all the same, so expiry does not depend on the sweeper's pace.
  if (job.expiresAt !== null && job.expiresAt <= Date.now()) throw new AsyncgateError('job-gone');
  return job;
}

/** `Authorization: Bearer <token>` (RFC 6750 §2.1), or the token echoed back in the header it came in. */
function presentedToken(req: IncomingMessage): string | undefined {
  const auth = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(req.headers.authorization ?? '');
  if (auth) return auth[1];
  const echoed = req.headers[PROGRESS_TOKEN_HEADER];
  return typeof echoed === 'string' && echoed !== '' ? echoed : undefined;
}
