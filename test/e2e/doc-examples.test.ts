/**
 * The docs' promise: every curl example in the README and docs/dialects.md works against `asyncgate demo`
 * (what `npm start` runs), pasted in order as a reader would, with the real curl. `<id>` is the id of the last
 * 202 before it; a line that fetches a result (or follows the monitor's 303) waits for its job first, as the
 * reader is told to. A line answers 2xx/3xx unless its comment names the status it gets (`# 400 …`). Then
 * every callback URL an example names has received a callback. Also docs/client.md's `asyncgate fetch` lines.
 * The demo runs from dist/: `npm run build` first.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DemoProcess } from '../helpers/demo-process.js';
import { CLI, eventually } from '../helpers/gateway-process.js';
import { runCurl, shellExamples, statusesNamed, type ShellExample } from '../helpers/shell-examples.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Examples that cannot run against the demo on their own, and why. Each must still be found in the docs. */
const NOT_SELF_CONTAINED: Record<string, string> = {
  '"$ASYNCGATE_PROGRESS_URL"': 'sent by an upstream, with the progress URL and token of the job it runs',
};

let demo: DemoProcess;
before(async () => {
  demo = await new DemoProcess().start();
});
after(() => demo?.stop());

async function finished(id: string): Promise<void> {
  await eventually(async () => {
    const res = await fetch(`${demo.gateway}/_async/jobs/${id}`, { headers: { prefer: 'wait=10' }, redirect: 'manual' });
    if (res.status === 303) return true; // Accept-Asynchronous: polling, done
    const { status } = (await res.json()) as { status: string };
    return ['Succeeded', 'Failed', 'Canceled'].includes(status);
  }, 60_000, 0);
}

function idOf(output: string): string | undefined {
  return /^location: \S*\/jobs\/([^/\s]+)/im.exec(output)?.[1] ?? /"id":"([^"]+)"/.exec(output)?.[1];
}

/** Run a file's curl examples in order; returns how many ran and the callback URLs they named. */
async function runDocExamples(file: string): Promise<{ ran: ShellExample[]; callbackUrls: Set<string> }> {
  const ran: ShellExample[] = [];
  const callbackUrls = new Set<string>();
  let lastId: string | undefined;
  for (const example of shellExamples(join(ROOT, file))) {
    if (!example.command.startsWith('curl ')) continue; // npm, npx asyncgate serve…: not against the demo
    if (Object.keys(NOT_SELF_CONTAINED).some((s) => example.command.includes(s))) continue;
    let command = demo.rewrite(example.command);
    for (const m of command.matchAll(/http:\/\/[^/\s'"]+\/inbox\/[\w-]+/g)) callbackUrls.add(m[0]);
    if (command.includes('<id>')) {
      assert.ok(lastId, `${example.where}: uses <id>, but no example before it answered 202`);
      command = command.replaceAll('<id>', lastId);
      if (/\/result'/.test(command) || /\s-[a-zA-Z]*L/.test(command)) await finished(lastId);
    }
    const { statuses, output } = await runCurl(command);
    const named = statusesNamed(example.comment);
    const why = `${example.where}: ${example.command}${example.comment ? `  # ${example.comment}` : ''}\n→ ${statuses.join(', ')}\n${output.slice(0, 1500)}`;
    if (named.length) assert.ok(statuses.some((s) => named.includes(s)), `expected ${named.join(' or ')}: ${why}`);
    for (const s of statuses) assert.ok(s < 400 || named.includes(s), `an error the example does not announce: ${why}`);
    if (statuses.at(-1) === 202) {
      lastId = idOf(output);
      assert.ok(lastId, `a 202 without a job id: ${why}`);
    }
    ran.push(example);
  }
  return { ran, callbackUrls };
}

/** Every callback URL the examples named has been called (the demo's receiver lists what it got). */
async function assertCallbacksArrived(urls: Set<string>): Promise<void> {
  const paths = [...urls].map((u) => new URL(u).pathname);
  let got: string[] = [];
  const arrived = await eventually(async () => {
    const { received } = (await (await fetch(`${demo.upstream}/inbox`)).json()) as { received: Array<{ path: string }> };
    got = received.map((r) => r.path);
    return paths.every((p) => got.includes(p));
  }, 30_000, 200).catch(() => false);
  assert.ok(arrived, `callbacks expected at ${paths.join(', ')}; the receiver got ${got.join(', ')}`);
}

test('every curl example in the README works against the demo', { timeout: 180_000 }, async () => {
  const { ran, callbackUrls } = await runDocExamples('README.md');
  assert.ok(ran.length >= 10, `only ${ran.length} examples ran`);
  assert.ok(callbackUrls.size >= 1);
  await assertCallbacksArrived(callbackUrls);
});

test('every self-contained curl example in docs/dialects.md works against the demo', { timeout: 240_000 }, async () => {
  const { ran, callbackUrls } = await runDocExamples('docs/dialects.md');
  assert.ok(ran.length >= 20, `only ${ran.length} examples ran`);
  const all = shellExamples(join(ROOT, 'docs/dialects.md'));
  for (const skip of Object.keys(NOT_SELF_CONTAINED)) assert.ok(all.some((e) => e.command.includes(skip)), `stale skip entry ${skip}`);
  assert.ok(callbackUrls.size >= 5, [...callbackUrls].join(' '));
  await assertCallbacksArrived(callbackUrls);
});

test('the `asyncgate fetch` examples in docs/client.md work against the demo', { timeout: 120_000 }, async () => {
  const lines = shellExamples(join(ROOT, 'docs/client.md')).filter((e) => e.command.startsWith('asyncgate fetch '));
  assert.ok(lines.length >= 3, `only ${lines.length} examples`);
  for (const example of lines) {
    const command = demo.rewrite(example.command).replace(/^asyncgate /, `'${process.execPath}' '${CLI}' `);
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, `${example.where}: ${example.command}\n${out}`);
    assert.match(out, /^HTTP\/1\.1 20[0-9] /m, `${example.where}: ${out}`);
  }
});
