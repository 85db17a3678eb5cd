/** asyncgate's public API: the gateway, the engine and its ports, for embedding and tests. */
export { createGateway, type Gateway } from './gateway/server.js';
export { createLogger } from './app/logger.js';
export { resolveSettings, loadConfigFile, DEFAULTS, type Settings } from './config/settings.js';
export type { AsyncPolicy, ConfigFile, RouteRuleInput } from './config/schema.js';
export { Engine, type EngineOptions } from './engine/engine.js';
export type { Executor, ExecutionContext, Outcome } from './engine/executor.js';
export { AsyncgateError } from './errors/asyncgate-error.js';
export { PROBLEM_TYPES, PROBLEM_TYPE_PREFIX, JOB_FAILURE_PROBLEMS } from './errors/codes.js';
export { JOB_ERROR_CODES, JOB_STATES, DIALECTS, DELIVERY_MODES, DELIVERY_STATES } from './model.js';
export type { JobStore } from './store/port.js';
export { SqliteJobStore } from './store/sqlite/sqlite-store.js';
export { openStore } from './store/open.js';
export { startDemoUpstream } from './demo/upstream.js';
export type * from './model.js';
