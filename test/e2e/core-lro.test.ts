/** Interop: Azure's reference long-running-operation poller drives jobs through the gateway. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createHttpPoller, type OperationResponse, type RunningOperation } from '@azure/core-lro';
import { GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
let gw: GatewayProcess;

before(async () => {
  await upstream.start();
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(tempDir(), 'lro.db')}`]).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
});

/** The thin adapter every Azure SDK client writes: send the first request, then GET the poll URL. */
function lro(method: string, path: string): RunningOperation<unknown> {
  const toLro = async (res: Response, request: { method: string; url: string }): Promise<OperationResponse<unknown>> => {
    const text = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return {
      flatResponse: text ? (JSON.parse(text) as unknown) : undefined,
      rawResponse: { statusCode: res.status, request, headers, body: text ? (JSON.parse(text) as unknown) : undefined },
    };
  };
  return {
    sendInitialRequest: async () =>
      toLro(await fetch(gw.url + path, { method, headers: { prefer: 'respond-async' } }), { method, url: gw.url + path }),
    sendPollRequest: async (url: string) => toLro(await fetch(url), { method: 'GET', url }),
  };
}

test('@azure/core-lro polls a job to success', async () => {
  const poller = createHttpPoller(lro('GET', '/slow?ms=700'), { intervalInMs: 100 });
  // core-lro follows `resourceLocation` once the operation succeeded and returns that resource: our result.
  const result = await poller.pollUntilDone();
  assert.equal(poller.operationState?.status, 'succeeded');
  assert.deepEqual(result, { slept: 700 });
});

test('@azure/core-lro reports the error of a failed job', async () => {
  const poller = createHttpPoller(lro('POST', '/status/500'), { intervalInMs: 100 });
  await assert.rejects(poller.pollUntilDone(), (error: Error) => {
    assert.match(error.message, /upstream-http-error|upstream answered 500/);
    return true;
  });
  assert.equal(poller.operationState?.status, 'failed');
});
