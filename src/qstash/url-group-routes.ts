import type { UrlGroupRecord } from '../store/port.js';
import { invalidMessage, messageNotFound, sendQstashJson, sendQstashOk } from './answer.js';
import type { QstashCall, QstashDeps, QstashRoute } from './api.js';
import { jsonObject } from './body-json.js';
import { NAME } from './group-keys.js';
import { guardedUrl } from './publish.js';

/** The most endpoints one URL group may have. */
const MAX_ENDPOINTS = 100;

const view = (g: UrlGroupRecord) => ({ name: g.name, createdAt: g.createdAt, updatedAt: g.updatedAt, endpoints: g.endpoints });

/**
 * URL groups, QStash's topics (docs/qstash.md#url-groups): `POST|DELETE /v2/topics/{name}/endpoints` with
 * `{"endpoints": [{"name"?, "url"}]}`, `GET /v2/topics[/{name}]`, `DELETE /v2/topics/{name}`. Publishing to a
 * group's name sends one message to each endpoint. Endpoint URLs pass the SSRF guard when added.
 */
export function urlGroupRoutes(deps: QstashDeps): QstashRoute[] {
  const { messaging } = deps.store;
  const nameOf = (call: QstashCall) => {
    const name = call.params[0]!;
    if (!NAME.test(name)) throw invalidMessage(`a URL group name is 1 to 100 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(name.slice(0, 40))}`);
    return name;
  };
  const endpointsOf = async (call: QstashCall, needUrl: boolean) => {
    const shape = '{"endpoints": [{"name": "…", "url": "https://…"}]}';
    const { endpoints } = jsonObject(await call.body(), shape);
    if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.length > MAX_ENDPOINTS) {
      throw invalidMessage(`endpoints: a list of 1 to ${MAX_ENDPOINTS} endpoints (${shape})`);
    }
    return endpoints.map((e: unknown, i) => {
      const { name, url } = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
      if (name !== undefined && (typeof name !== 'string' || name.length > 100)) throw invalidMessage(`endpoints[${i}].name: a string of at most 100 characters`);
      if (url !== undefined && typeof url !== 'string') throw invalidMessage(`endpoints[${i}].url: a URL`);
      if (needUrl && url === undefined) throw invalidMessage(`endpoints[${i}].url: a URL is required`);
      if (!needUrl && url === undefined && name === undefined) throw invalidMessage(`endpoints[${i}]: name or url`);
      return {
        ...(typeof name === 'string' && name !== '' ? { name } : {}),
        ...(typeof url === 'string' ? { url: needUrl ? guardedUrl(url, `endpoints[${i}].url`, deps.publish.policy) : url } : {}),
      };
    });
  };
  return [
    {
      method: 'POST',
      path: /^topics\/([^/]+)\/endpoints$/,
      name: 'url group add',
      async handle(call) {
        const name = nameOf(call);
        const endpoints = (await endpointsOf(call, true)) as Array<{ name?: string; url: string }>;
        const existing = await messaging.urlGroup(call.owner, name);
        if ((existing?.endpoints.length ?? 0) + endpoints.length > MAX_ENDPOINTS) throw invalidMessage(`a URL group may have at most ${MAX_ENDPOINTS} endpoints`);
        await messaging.addEndpoints(call.owner, name, endpoints, Date.now());
        sendQstashOk(call.res);
      },
    },
    {
      method: 'DELETE',
      path: /^topics\/([^/]+)\/endpoints$/,
      name: 'url group remove',
      async handle(call) {
        const name = nameOf(call);
        if (!(await messaging.removeEndpoints(call.owner, name, await endpointsOf(call, false), Date.now()))) throw messageNotFound('URL group');
        sendQstashOk(call.res);
      },
    },
    {
      method: 'GET',
      path: /^topics$/,
      name: 'url groups',
      async handle(call) {
        sendQstashJson(call.res, (await messaging.urlGroups(call.owner)).map(view));
      },
    },
    {
      method: 'GET',
      path: /^topics\/([^/]+)$/,
      name: 'url group',
      async handle(call) {
        const g = await messaging.urlGroup(call.owner, nameOf(call));
        if (!g) throw messageNotFound('URL group');
        sendQstashJson(call.res, view(g));
      },
    },
    {
      method: 'DELETE',
      path: /^topics\/([^/]+)$/,
      name: 'url group delete',
      async handle(call) {
        if (!(await messaging.deleteUrlGroup(call.owner, nameOf(call)))) throw messageNotFound('URL group');
        sendQstashOk(call.res);
      },
    },
  ];
}
