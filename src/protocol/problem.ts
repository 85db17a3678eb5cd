/**
 * Problem Details for HTTP APIs (RFC 9457): the body of every error asyncgate answers with.
 *
 * RFC 9457 §3.1 members: "type" (a URI reference, default "about:blank"), "title", "status", "detail",
 * "instance"; §3.2: "Problem type definitions MAY extend the problem details object with additional members".
 * Here `type`, `title` and `status` are required: error codes are API, so every problem names its type.
 */

/** An application/problem+json body (RFC 9457 §3). */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Extension members (RFC 9457 §3.2). */
  [ext: string]: unknown;
}

/** RFC 9457 §6.1 media type. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
