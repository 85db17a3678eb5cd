/**
 * The OpenAPI 3.1 document of everything under the prefix, generated from the prefix route table itself, so it
 * cannot drift from what the router serves: every row's methods, path, access, parameters, body and answers
 * (http/route-table.ts RouteDoc), every problem type, the security schemes, each delivery mode's callback as a
 * webhook, and the dialect headers as reusable components (openapi-components.ts). docs/reference/openapi.md.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CALLBACK_HEADERS, CALLBACK_PAYLOADS, RECEIVER_ANSWERS } from '../delivery/payload-schema.js';
import { PROBLEM_TYPES, PROBLEM_TYPE_PREFIX, type ProblemType } from '../errors/codes.js';
import { DELIVERY_MODES } from '../model.js';
import { ifNoneMatchMatches } from '../protocol/etag.js';
import { PROBLEM_CONTENT_TYPE } from '../protocol/problem.js';
import type { FieldDoc, JsonSchema } from '../shared/json-schema.js';
import {
  ACCEPTED_RESPONSE,
  ACCESS_PROBLEMS,
  ETAG,
  IF_NONE_MATCH,
  HEADER_PARAMETERS,
  NAMED_SCHEMAS,
  PROBLEM_HEADERS,
  RESPONSE_HEADERS,
  securityOf,
  securitySchemes,
} from './openapi-components.js';
import type { PrefixRoute, RouteResponse } from './route-table.js';

export interface OpenApiOptions {
  prefix: string;
  /** The public base URL (--public-url); else the document's own origin. */
  publicUrl: string | undefined;
  /** --owner-header: the job owner's credential instead of Authorization / Cookie. */
  ownerHeader: string | undefined;
  version: string;
}

type Json = Record<string, unknown>;

/** `/jobs/:id/result` → `/jobs/{id}/result`, with the names of its parameters in order. */
export function openApiPath(path: string): { path: string; params: string[] } {
  if (/[*{}?()]/.test(path)) throw new Error(`${path}: only :name parameters can be put in the OpenAPI document`);
  const params: string[] = [];
  return { path: path.replace(/:(\w+)/g, (_, name: string) => (params.push(name), `{${name}}`)), params };
}

/** The document for these routes. */
export function openApiDocument(routes: readonly PrefixRoute[], options: OpenApiOptions): Json {
  const refs = new Refs();
  const components = {
    schemas: problemSchemas(),
    parameters: {} as Json,
    headers: {} as Json,
    responses: {} as Json,
    securitySchemes: securitySchemes(options.ownerHeader),
  };
  for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) refs.name(schema, `#/components/schemas/${name}`);
  for (const [name, [header, doc]] of Object.entries(HEADER_PARAMETERS)) refs.name(doc, `#/components/parameters/${name}`, header);
  for (const [name, doc] of Object.entries(RESPONSE_HEADERS)) refs.name(doc, `#/components/headers/${name}`, name);
  for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) components.schemas[name] = refs.define(schema);
  for (const [name, [header, doc]] of Object.entries(HEADER_PARAMETERS)) components.parameters[name] = { name: header, in: 'header', ...refs.inline(fieldJson(doc)) };
  for (const [name, doc] of Object.entries(RESPONSE_HEADERS)) components.headers[name] = refs.inline(headerJson(doc));
  for (const slug of Object.keys(PROBLEM_TYPES) as ProblemType[]) components.responses[slug] = problemResponse(refs, [slug]);
  components.responses.Accepted = response(refs, ACCEPTED_RESPONSE);

  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const { path, params } = openApiPath(route.path);
    const item = (paths[options.prefix + path] ??= {});
    for (const method of route.methods) {
      const key = method.toLowerCase();
      if (item[key]) throw new Error(`${method} ${route.path} is in the route table twice`);
      item[key] = operation(refs, route, method, params, options);
    }
  }
  const tags = [...new Set([...routes.map(tagOf), 'callbacks'])].map((name) => ({ name, description: TAGS[name] ?? name }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'asyncgate',
      version: options.version,
      summary: "asyncgate's own endpoints under the prefix, the callbacks it sends, and the headers that ask a proxied API for an asynchronous answer",
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: options.publicUrl ?? '/', description: options.publicUrl ? 'The public URL' : 'This gateway' }],
    tags,
    paths,
    webhooks: webhooks(refs),
    components,
  };
}

/** The route row `GET {prefix}/openapi.json`; `routes` is read at the first request (the row is in them). */
export function openApiRoute(options: Omit<OpenApiOptions, 'version'> & { routes: () => readonly PrefixRoute[] }): PrefixRoute {
  let cached: { body: Buffer; etag: string } | undefined;
  const load = () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const body = Buffer.from(JSON.stringify(openApiDocument(options.routes(), { ...options, version })));
    return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
  };
  return {
    methods: ['GET', 'HEAD'],
    path: '/openapi.json',
    access: 'public',
    summary: 'This OpenAPI 3.1 document, generated from the route table',
    headers: { 'If-None-Match': IF_NONE_MATCH },
    responses: {
      200: { description: 'The OpenAPI document', content: { 'application/json': { type: 'object', required: ['openapi', 'info'] } }, headers: { ETag: ETAG } },
      304: { description: 'Not modified' },
    },
    async handle({ req, res }) {
      cached ??= load();
      const headers = { etag: cached.etag, 'cache-control': 'public, max-age=300' };
      if (ifNoneMatchMatches(req.headers['if-none-match'], cached.etag)) return void res.writeHead(304, headers).end();
      res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': cached.body.length });
      res.end(req.method === 'HEAD' ? undefined : cached.body);
    },
  };
}

const TAGS: Record<string, string> = {
  jobs: "A job's own endpoints: its owner's, and the upstream's progress reports",
  admin: 'The admin API: every job and delivery (viewer reads, admin changes)',
  dashboard: 'The operator console (HTML pages)',
  service: 'About the service',
  callbacks: 'The callbacks asyncgate sends (webhooks), one per delivery mode',
};
const tagOf = (route: PrefixRoute) => {
  const first = route.path.split('/')[1] ?? '';
  return first === 'jobs' || first === 'admin' || first === 'dashboard' ? first : 'service';
};

function operation(refs: Refs, route: PrefixRoute, method: string, pathParams: string[], options: OpenApiOptions): Json {
  const parameters: Json[] = pathParams.map((name) => {
    // An undescribed one still makes a valid document (test/e2e/openapi.test.ts insists on descriptions).
    const doc = route.params?.[name] ?? { description: name, schema: { type: 'string' } };
    return { name, in: 'path', required: true, ...refs.inline(fieldJson(doc)) };
  });
  for (const [name, doc] of Object.entries(route.query ?? {})) parameters.push({ name, in: 'query', ...refs.inline(fieldJson(doc)) });
  for (const [name, doc] of Object.entries(route.headers ?? {})) parameters.push(refs.parameter(doc, name) ?? { name, in: 'header', ...refs.inline(fieldJson(doc)) });
  const head = method === 'HEAD';
  const security = securityOf(route.access, options.ownerHeader);
  return {
    operationId: operationId(method, route.path),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [tagOf(route)],
    ...(security ? { security } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body && !head
      ? {
          requestBody: {
            required: true,
            ...(route.body.description ? { description: route.body.description } : {}),
            content: { [route.body.mediaType]: { schema: refs.inline(route.body.schema), example: route.body.example } },
          },
        }
      : {}),
    responses: responses(refs, route, head),
  };
}

/** `GET /admin/jobs/:id` → `getAdminJobsId`. */
function operationId(method: string, path: string): string {
  const words = path.split(/[/:-]+/).filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('').replace(/\W/g, '');
}

/** The route's answers, and its problems (its own and its access check's) by status. */
function responses(refs: Refs, route: PrefixRoute, head: boolean): Json {
  const problems = [...new Set([...(route.denied ? [] : ACCESS_PROBLEMS[route.access]), ...(route.problems ?? [])])];
  const byStatus = new Map<number, ProblemType[]>();
  for (const slug of problems) byStatus.set(PROBLEM_TYPES[slug].status, [...(byStatus.get(PROBLEM_TYPES[slug].status) ?? []), slug]);
  const statuses = [...new Set([...Object.keys(route.responses ?? {}).map(Number), ...byStatus.keys()])].sort((a, b) => a - b);
  if (statuses.length === 0) return { default: { description: 'Not described' } };
  const out: Json = {};
  for (const status of statuses) {
    const own = route.responses?.[status];
    const types = byStatus.get(status) ?? [];
    let answer: Json;
    if (!own) answer = types.length === 1 && !head ? { $ref: `#/components/responses/${types[0]}` } : problemResponse(refs, types);
    else if (types.length === 0) answer = response(refs, own);
    else {
      const mine = response(refs, own);
      const theirs = problemResponse(refs, types);
      answer = {
        ...mine,
        description: `${own.description}; or ${String(theirs.description)}`,
        headers: { ...(mine.headers as Json | undefined), ...(theirs.headers as Json | undefined) },
        content: { ...(mine.content as Json | undefined), ...(theirs.content as Json) },
      };
    }
    if (head && !('$ref' in answer)) delete answer.content;
    out[String(status)] = answer;
  }
  return out;
}

function response(refs: Refs, r: RouteResponse): Json {
  const out: Json = { description: r.description };
  if (r.headers) out.headers = headerMap(refs, r.headers);
  if (r.content) out.content = Object.fromEntries(Object.entries(r.content).map(([type, schema]) => [type, { schema: refs.inline(schema) }]));
  return out;
}

/** A problem+json answer of these types (one status). */
function problemResponse(refs: Refs, types: readonly ProblemType[]): Json {
  const schemas = types.map((slug) => ({ $ref: `#/components/schemas/${problemSchemaName(slug)}` }));
  const headers = Object.assign({}, ...types.map((slug) => PROBLEM_HEADERS[slug] ?? {})) as Record<string, FieldDoc>;
  return {
    description: types.map((slug) => `${slug}: ${PROBLEM_TYPES[slug].title}`).join('; '),
    ...(Object.keys(headers).length ? { headers: headerMap(refs, headers) } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: schemas.length === 1 ? schemas[0] : { oneOf: schemas } } },
  };
}

const problemSchemaName = (slug: string) => `Problem.${slug}`;

/** One schema per problem type: the Problem with its own type, title and status. */
function problemSchemas(): Json {
  const out: Json = {};
  for (const [slug, { status, title }] of Object.entries(PROBLEM_TYPES)) {
    out[problemSchemaName(slug)] = {
      allOf: [{ $ref: '#/components/schemas/Problem' }],
      properties: { type: { const: PROBLEM_TYPE_PREFIX + slug }, title: { const: title }, status: { const: status } },
    };
  }
  return out;
}

/** Each delivery mode's callback, under its mode's name, with the Standard Webhooks headers. */
function webhooks(refs: Refs): Json {
  const out: Json = {};
  for (const mode of DELIVERY_MODES) {
    const doc = CALLBACK_PAYLOADS[mode];
    const headers = { ...CALLBACK_HEADERS, ...doc.headers };
    const item: Json = {};
    for (const method of doc.methods) {
      item[method.toLowerCase()] = {
        operationId: `callback${mode[0]!.toUpperCase()}${mode.slice(1)}${method[0]}${method.slice(1).toLowerCase()}`,
        summary: `${mode} callback: ${doc.summary}`,
        description: doc.description,
        tags: ['callbacks'],
        parameters: Object.entries(headers).map(([name, field]) => refs.parameter(field, name) ?? { name, in: 'header', ...refs.inline(fieldJson(field)) }),
        ...(doc.content
          ? { requestBody: { required: true, content: Object.fromEntries(Object.entries(doc.content).map(([type, schema]) => [type, { schema: refs.inline(schema) }])) } }
          : {}),
        responses: Object.fromEntries(Object.entries(RECEIVER_ANSWERS).map(([status, description]) => [status, { description }])),
      };
    }
    out[mode] = item;
  }
  return out;
}

/** A parameter's or header's members (RFC: a Parameter Object without name and in). */
function fieldJson(doc: FieldDoc): Json {
  return {
    description: doc.description,
    ...(doc.required ? { required: true } : {}),
    schema: doc.schema,
    ...(doc.examples ? { examples: Object.fromEntries(Object.entries(doc.examples).map(([name, value]) => [name, { value }])) } : {}),
  };
}

function headerJson(doc: FieldDoc): Json {
  return fieldJson(doc);
}

function headerMap(refs: Refs, headers: Readonly<Record<string, FieldDoc>>): Json {
  return Object.fromEntries(Object.entries(headers).map(([name, doc]) => [name, refs.header(doc, name) ?? refs.inline(headerJson(doc))]));
}

/**
 * The objects that are components, by identity: a schema, parameter or header used by a route that is the
 * very object listed in openapi-components.ts becomes a `$ref` to it, wherever it appears.
 */
class Refs {
  private readonly refs = new Map<object, { ref: string; name: string | undefined }>();

  name(value: object, ref: string, name?: string): void {
    this.refs.set(value, { ref, name });
  }

  /** A copy of `value` in which every named schema, `value` itself included, is a `$ref`. */
  inline(value: JsonSchema | Json): Json {
    return this.walk(value, false) as Json;
  }

  /** The definition of a named schema: a copy in which every other named schema inside it is a `$ref`. */
  define(value: JsonSchema): Json {
    return this.walk(value, true) as Json;
  }

  /** The `$ref` of a header parameter component, when `doc` is one for this header. */
  parameter(doc: FieldDoc, header: string): Json | undefined {
    const found = this.refs.get(doc);
    return found?.ref.startsWith('#/components/parameters/') && found.name?.toLowerCase() === header.toLowerCase() ? { $ref: found.ref } : undefined;
  }

  header(doc: FieldDoc, header: string): Json | undefined {
    const found = this.refs.get(doc);
    return found?.ref.startsWith('#/components/headers/') && found.name?.toLowerCase() === header.toLowerCase() ? { $ref: found.ref } : undefined;
  }

  private walk(value: unknown, root: boolean): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v, false));
    if (typeof value !== 'object' || value === null) return value;
    const found = this.refs.get(value);
    if (!root && found?.ref.startsWith('#/components/schemas/')) return { $ref: found.ref };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.walk(v, false)]));
  }
}
