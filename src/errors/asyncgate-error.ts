import { PROBLEM_TYPES, PROBLEM_TYPE_PREFIX, type ProblemType } from './codes.js';

/** Base class of every error asyncgate answers a client with: it maps 1:1 to a problem+json body. */
export class AsyncgateError extends Error {
  override readonly name = 'AsyncgateError';
  readonly status: number;
  constructor(
    readonly type: ProblemType,
    readonly detail?: string,
    /** Extra members of the problem object (RFC 9457 §3.2) and response headers. */
    readonly extra: { members?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? PROBLEM_TYPES[type].title);
    this.status = PROBLEM_TYPES[type].status;
  }

  /** The stable code every asyncgate Error carries: here, the problem type's slug. */
  get code(): ProblemType {
    return this.type;
  }

  toProblem(instance?: string): Record<string, unknown> {
    return {
      type: PROBLEM_TYPE_PREFIX + this.type,
      title: PROBLEM_TYPES[this.type].title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...this.extra.members,
    };
  }
}
