/** What every adapter entry point exports: the core and its types (each adapter adds its framework's glue). */
export { createAsyncgate, type Asyncgate, type AdapterInput, type RouteHandler } from './asyncgate.js';
export type { AsyncHandler, HandlerContext, HandlerRequest, HandlerResult } from './handler.js';
export type { AsyncgateOptions, RouteOptions } from './options.js';
export { encodeParsedBody } from './parsed-body.js';
