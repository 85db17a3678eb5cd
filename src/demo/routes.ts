import { configFileSchema, type ConfigFile, type RouteRuleInput } from '../config/schema.js';

/**
 * The route rules `asyncgate demo` runs with: the ones the curl examples of the README and docs/dialects.md
 * rely on (test/e2e/demo-curl.test.ts runs every one of them against the demo).
 */
export const DEMO_ROUTES: readonly RouteRuleInput[] = [
  // Lyst's convention: a `callback_url` in the JSON body makes the checkout asynchronous.
  { match: 'POST /cart/checkout', callbackBodyField: 'callback_url', maxWait: '20s' },
  // The route-rules example: an export must be asked for asynchronously, else 400 async-required.
  { match: 'POST /exports', async: 'required' },
];

/** The demo's rules, one line each, for the banner it prints. */
export const DEMO_ROUTES_SUMMARY = [
  'POST /cart/checkout   a "callback_url" field in a JSON body makes it asynchronous',
  'POST /exports         async "required": without asking, 400 async-required',
];

/** The demo's configuration as a parsed config file (what resolveSettings takes). */
export function demoConfig(): Partial<ConfigFile> {
  return configFileSchema.parse({ routes: DEMO_ROUTES });
}
