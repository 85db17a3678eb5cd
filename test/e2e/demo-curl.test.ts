/**
 * The README promise: `asyncgate demo` starts, prints curl lines, and every printed line works when run with
 * the real curl against the real demo.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, tempDir } from '../helpers/gateway-process.js';

function curl(line: string): string {
  // The printed lines are shell commands; run them through sh exactly as a reader would paste them.
  return execFileSync('sh', ['-c', `${line} --silent --show-error --max-time 20`], { encoding: 'utf8' });
}

test('asyncgate demo prints curl examples that all work', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--upstream-port', '0', '--db', `sqlite:${join(tempDir(), 'demo.db')}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ASYNCGATE_LOG_LEVEL: 'warn' },
  });
  process.once('exit', () => child.kill('SIGKILL'));
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Press Ctrl-C')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`demo exited ${code}`)));
    });
    const lines = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('curl '));
    // Quoted, so that zsh does not take `?` for a glob.
    for (const line of lines) assert.match(line, / 'https?:\/\/[^' ]+'$/, `the URL is quoted: ${line}`);
    assert.equal(lines.length, 12, out);

    // 1. Prefer: respond-async → 202 with a Location
    const accepted = curl(lines[0]!);
    assert.match(accepted, /^HTTP\/1\.1 202 Accepted/);
    const location = /^location: (\S+)/im.exec(accepted)![1]!;
    const id = location.split('/').pop()!;
    // 2. long poll the monitor until done (the report takes 5 s), then 3. the result
    let status = '';
    for (let i = 0; i < 5 && !/"status":"Succeeded"/.test(status); i++) status = curl(lines[1]!.replace('<id>', id));
    assert.match(status, /"status":"Succeeded"/);
    const result = curl(lines[2]!.replace('<id>', id));
    assert.match(result, /^HTTP\/1\.1 200 OK/);
    assert.match(result, /"report": "2026"/);
    // 4. respond-async + wait: the real answer in time
    assert.match(curl(lines[3]!), /^HTTP\/1\.1 200 OK[\s\S]*"rows": 1234/);
    // 5. Accept-Asynchronous: polling → 202
    assert.match(curl(lines[4]!), /^HTTP\/1\.1 202 Accepted/);
    // 6. no preference → proxied synchronously
    assert.match(curl(lines[5]!), /^HTTP\/1\.1 200 OK[\s\S]*Hello world/);
    // 7. Pragma: redirect + Callback → 202, then 8. the demo's inbox shows the signed callback
    assert.match(curl(lines[6]!), /^HTTP\/1\.1 202 Accepted/);
    let inbox = '';
    for (let i = 0; i < 40 && !inbox.includes('webhook-signature'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      inbox = curl(lines[7]!);
    }
    assert.match(inbox, /"status": "200 OK"/);
    assert.match(inbox, /"webhook-signature": "v1,/);
    assert.match(inbox, /\\"report\\": \\"2026\\"/);
    // 9. the event stream of a new job: its progress (the demo report sends 102 + Progress), then the end
    const again = /^location: (\S+)/im.exec(curl(lines[0]!))![1]!.split('/').pop()!;
    const events = curl(lines[8]!.replace('<id>', again));
    assert.match(events, /event: status\ndata: \{"id":"[^"]+","status":"Running","percentComplete":\d+,"progress":\{"current":\d,"total":5/);
    assert.match(events, /"status":"Succeeded"[^\n]*\n\n$/);
    // 10. the /exports route rule (async: required): asking for nothing is refused
    const refused = curl(lines[9]!);
    assert.match(refused, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(refused, /"type":"urn:asyncgate:problem:async-required"/);
    // 11. callback_url in a JSON body (route rule callbackBodyField): 202 with resource_url, then the summary
    const checkout = curl(lines[10]!);
    assert.match(checkout, /^HTTP\/1\.1 202 Accepted[\s\S]*"resource_url":"http/);
    let summary = '';
    for (let i = 0; i < 60 && !summary.includes('/inbox/checkout'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      summary = curl(lines[7]!);
    }
    assert.match(summary, /"path": "\/inbox\/checkout"[\s\S]*\\"status\\":\\"completed\\"/);
    // 12. QStash: 201 with a messageId, then the signed message in the inbox 2 s later
    const published = curl(lines[11]!);
    assert.match(published, /^HTTP\/1\.1 201 Created[\s\S]*"messageId":"/);
    let delivered = '';
    for (let i = 0; i < 40 && !delivered.includes('/inbox/qstash'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      delivered = curl(lines[7]!);
    }
    assert.match(delivered, /"path": "\/inbox\/qstash"[\s\S]*"upstash-signature": "ey/);
    // The signing secret line: the command it prints works as printed, from where the demo was started.
    const secretCommand = /^\s*secret\s+.*: (.+ secret show --db \S+)$/m.exec(out)![1]!;
    assert.match(execFileSync('sh', ['-c', secretCommand], { encoding: 'utf8' }), /^ASYNCGATE_SIGNING_SECRET=whsec_\S+\n$/);
  } finally {
    child.kill('SIGTERM');
  }
});
