import { match as compilePath } from 'path-to-regexp';
import type { RouteRuleConfig } from './schema.js';

export interface RouteRule extends RouteRuleConfig {
  name: string;
}

interface CompiledRule {
  methods: Set<string> | null;
  test: (path: string) => boolean;
  rule: RouteRule;
}

/** Thrown when a rule's `match` cannot be compiled; the message says which and why. */
export class RouteRuleError extends Error {
  override readonly name = 'RouteRuleError';
  readonly code = 'invalid-route-rule';
}

/**
 * Route rules, first match wins. `match` is "METHODS PATH" or "PATH": methods comma-separated (or "*"),
 * PATH in path-to-regexp syntax (`/reports/:id`, `/exports/*rest`), matched against the path without query.
 */
export class RouteTable {
  private readonly compiled: CompiledRule[];

  constructor(rules: readonly RouteRuleConfig[]) {
    this.compiled = rules.map((rule, i) => {
      const m = /^(?:([A-Za-z,*]+)\s+)?(\/\S*)$/.exec(rule.match.trim());
      if (!m) throw new RouteRuleError(`routes[${i}].match "${rule.match}": expected "METHOD /path" or "/path"`);
      const methods = !m[1] || m[1] === '*' ? null : new Set(m[1].toUpperCase().split(',').filter(Boolean));
      let matcher: ReturnType<typeof compilePath>;
      try {
        matcher = compilePath(m[2]!, { decode: false });
      } catch (error) {
        throw new RouteRuleError(`routes[${i}].match "${rule.match}": ${(error as Error).message}`);
      }
      return { methods, test: (path) => matcher(path) !== false, rule: { ...rule, name: rule.name ?? rule.match } };
    });
  }

  /** The first rule matching the method and path, if any. */
  find(method: string, path: string): RouteRule | undefined {
    for (const c of this.compiled) {
      if (c.methods && !c.methods.has(method)) continue;
      if (c.test(path)) return c.rule;
    }
    return undefined;
  }
}
