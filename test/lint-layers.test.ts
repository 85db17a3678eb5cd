/**
 * The layer rule (eslint.config.js LAYERS) is a check, not a claim: lint refuses an import that goes up a
 * layer or across to a sibling, and accepts one that goes down.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: ROOT });

/** The layer-rule messages lint gives a probe file with this text, linted as if it lived at `path`. */
async function layerErrors(path: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: join(ROOT, path) });
  return result!.messages.filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => m.message);
}

test('an import up a layer fails lint: engine/ may not import gateway/', async () => {
  const errors = await layerErrors('src/engine/probe.ts', "import { createGateway } from '../gateway/server.js';\nexport const probe = createGateway;\n");
  assert.equal(errors.length, 1, String(errors));
  assert.match(errors[0]!, /src\/engine is in layer \d+/);
});

test('upward imports fail from every low layer that a mistake is likely in', async () => {
  const cases: Array<[string, string]> = [
    ['src/protocol/probe.ts', "import { TERMINAL_STATES } from '../model.js';\nexport const probe = TERMINAL_STATES;\n"],
    ['src/store/probe.ts', "import { Engine } from '../engine/engine.js';\nexport const probe = Engine;\n"],
    ['src/delivery/probe.ts', "import { readBody } from '../intake/body.js';\nexport const probe = readBody;\n"],
    ['src/resource/probe.ts', "import { jobRoutes } from '../http/job-routes.js';\nexport const probe = jobRoutes;\n"],
    ['src/intake/probe.ts', "import { createRuntime } from '../app/runtime.js';\nexport const probe = createRuntime;\n"],
    ['src/gateway/probe.ts', "import { createAsyncgate } from '../library/asyncgate.js';\nexport const probe = createAsyncgate;\n"],
    ['src/client/probe.ts', "import { signWebhook } from '../delivery/signing.js';\nexport const probe = signWebhook;\n"],
    ['src/engine/probe.ts', "import { fetchAsync } from '../client/fetch-async.js';\nexport const probe = fetchAsync;\n"],
  ];
  for (const [path, text] of cases) assert.equal((await layerErrors(path, text)).length, 1, `${path}: ${text}`);
});

test('an import down a layer passes: gateway/ may import engine/, client/ may import protocol/', async () => {
  assert.deepEqual(await layerErrors('src/gateway/probe.ts', "import { Engine } from '../engine/engine.js';\nexport const probe = Engine;\n"), []);
  assert.deepEqual(await layerErrors('src/client/probe.ts', "import { parseLinkHeader } from '../protocol/link.js';\nexport const probe = parseLinkHeader;\n"), []);
});
