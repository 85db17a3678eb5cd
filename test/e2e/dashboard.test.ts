/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; never a
 * downloaded browser) against a real gateway process and a real upstream: sign-in, roles, live progress,
 * search, the actions, CSRF, and layout at phone size. Screenshots of every page go to test-output/dashboard/
 * (or $ASYNCGATE_SCREENSHOTS).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { closeNow, listenLoopback } from '../helpers/loopback.js';
import { Receiver } from '../helpers/receiver.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'admin-token-for-the-dashboard-0123';
const VIEWER = 'viewer-token-for-the-dashboard-012';
const SHOTS = process.env.ASYNCGATE_SCREENSHOTS ?? join(import.meta.dirname, '..', '..', 'test-output', 'dashboard');

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium): the dashboard tests are SKIPPED`;
if (skip) {
  if (process.env.CI === 'true') throw new Error(`${skip}; CI=true requires them`);
  console.warn(`\n*** ${skip} ***\n`);
}

/**
 * The upstream: `/hold/…` waits until the test finishes it (reporting progress meanwhile through the
 * progress URL it was given), `/fail-once/KEY` answers 500 the first time and 200 after, anything else 200.
 */
class Upstream {
  readonly seen: Array<{ path: string; body: string }> = [];
  readonly held = new Map<string, { res: ServerResponse; progressUrl: string; token: string }>();
  private readonly server: Server;
  url = '';
  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.seen.push({ path, body });
        const id = String(req.headers['asyncgate-job-id'] ?? '');
        if (path.startsWith('/hold/')) {
          this.held.set(id, { res, progressUrl: String(req.headers['asyncgate-progress-url']), token: String(req.headers['asyncgate-progress-token']) });
          return;
        }
        if (path.startsWith('/fail-once/') && this.seen.filter((s) => s.path === path).length === 1) {
          return res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"first try fails"}');
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path }));
      });
    });
  }
  async start(): Promise<this> {
    this.url = await listenLoopback(this.server);
    return this;
  }
  async progress(id: string, percentComplete: number): Promise<void> {
    const held = await eventually(async () => this.held.get(id));
    const res = await fetch(held.progressUrl, { method: 'POST', headers: { authorization: `Bearer ${held.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ percentComplete }) });
    assert.ok(res.status < 300, `progress report: ${res.status} ${await res.text()}`);
  }
  async finish(id: string): Promise<void> {
    const held = await eventually(async () => this.held.get(id));
    if (!held.res.writableEnded && !held.res.destroyed) held.res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
  }
  close(): Promise<void> {
    return closeNow(this.server);
  }
}

const upstream = new Upstream();
const receiver = new Receiver();
let gw: GatewayProcess;
let browser: Browser;
let adminCtx: BrowserContext;
let dash: string;

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  await upstream.start();
  await receiver.start();
  const db = `sqlite:${join(tempDir('asyncgate-dashboard-'), 'jobs.db')}`;
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', db, '--admin-token', ADMIN, '--viewer-token', VIEWER, '--allow-callback-hosts', '127.0.0.1']).start();
  dash = `${gw.url}/_async/dashboard`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  adminCtx = await signedIn(ADMIN);
});

after(async () => {
  if (skip) return;
  for (const held of upstream.held.values()) if (!held.res.writableEnded) held.res.destroy();
  await browser?.close();
  await gw?.stop();
  await upstream.close();
  await receiver.close();
});

/** A browser context signed in with `token` through the sign-in form. */
async function signedIn(token: string, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await ctx.newPage();
  await page.goto(`${dash}/jobs`);
  assert.match(page.url(), /\/dashboard\/sign-in\?next=/);
  await page.fill('input[name=token]', token);
  await Promise.all([page.waitForURL(`${dash}/jobs`), page.click('button[type=submit]')]);
  await page.close();
  return ctx;
}

/** Submit a job through the gateway (no credentials: its monitor is reachable by callers with none). */
async function submit(path: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { prefer: 'respond-async', 'content-type': 'text/plain', ...headers }, body });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function monitor(id: string): Promise<{ status: string; percentComplete?: number }> {
  return (await fetch(`${gw.url}/_async/jobs/${id}`)).json() as Promise<{ status: string }>;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const row = (page: Page, id: string) => page.locator(`tr[data-job-id="${id}"]`);

test('signed out, no job data is reachable: pages send to the sign-in form, the API and the event stream answer 401', { skip }, async () => {
  const id = await submit('/plain/secret-report', 'confidential-body-text');
  const page = await (await browser.newContext()).newPage();
  for (const path of ['', '/jobs', `/jobs/${id}`, '/deliveries']) {
    const res = await page.goto(`${dash}${path}`);
    assert.match(page.url(), /\/dashboard\/sign-in\?next=/, path);
    assert.equal(res?.status(), 200);
    // The id may be in the page's own address (next=), never in what the page shows.
    const text = await page.locator('body').innerText();
    assert.ok(!text.includes(id) && !(await page.content()).includes('confidential-body-text'), `${path} shows job data`);
  }
  await shot(page, 'sign-in');
  for (const api of ['/admin/jobs', `/admin/jobs/${id}`, '/admin/events', '/admin/deliveries', '/admin/overview']) {
    const res = await fetch(`${gw.url}/_async${api}`, { redirect: 'manual' });
    assert.equal(res.status, 401, api);
    assert.ok(!(await res.text()).includes('secret-report'));
  }
  // A forged session cookie is no session.
  const forged = await fetch(`${gw.url}/_async/admin/jobs`, { headers: { cookie: `asyncgate_session=admin.${Date.now() + 3600_000}.${'A'.repeat(43)}` } });
  assert.equal(forged.status, 401);
  // A wrong token at the form: 401 and the form again.
  const wrong = await page.goto(`${dash}/sign-in`);
  assert.equal(wrong?.status(), 200);
  await page.fill('input[name=token]', 'not-a-token-of-this-gateway');
  const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/dashboard/sign-in') && r.request().method() === 'POST'), page.click('button[type=submit]')]);
  assert.equal(answer.status(), 401);
  assert.match(await page.locator('[role=alert]').innerText(), /neither the admin nor the viewer token/);
  await page.context().close();
});

test('sign in, and a job submitted through the gateway is in the list; the overview counts it', { skip }, async () => {
  const id = await submit('/plain/first', 'hello from the first job');
  await eventually(async () => (await monitor(id)).status === 'Succeeded');
  const page = await adminCtx.newPage();
  await page.goto(`${dash}/jobs`);
  await row(page, id).waitFor();
  assert.match(await row(page, id).innerText(), /Succeeded/);
  assert.match(await row(page, id).innerText(), /POST \/plain\/first/);
  assert.equal(await page.getByTestId('role').innerText(), 'admin');
  await shot(page, 'jobs');
  await page.goto(dash);
  await page.locator('#jobs-by-state table').waitFor();
  await page.locator('#chart svg').waitFor();
  assert.match(await page.locator('#running').innerText(), /\d+ \/ \d+/);
  await shot(page, 'overview');
  await page.close();
});

test('search finds a job by a word inside its request body, and not the others', { skip }, async () => {
  const words = ['pelican', 'walrus', 'heron'];
  const ids = await Promise.all(words.map((w) => submit('/plain/search', `{"note": "a report about the ${w} colony"}`)));
  await eventually(async () => (await Promise.all(ids.map(monitor))).every((m) => m.status === 'Succeeded'));
  const page = await adminCtx.newPage();
  await page.goto(`${dash}/jobs`);
  await page.fill('input[name=q]', 'walrus');
  await Promise.all([page.waitForURL(/q=walrus/), page.press('input[name=q]', 'Enter')]);
  await row(page, ids[1]!).waitFor();
  assert.equal(await row(page, ids[0]!).count(), 0);
  assert.equal(await row(page, ids[2]!).count(), 0);
  assert.equal(await page.locator('tr[data-job-id]').count(), 1);
  await shot(page, 'jobs-search');
  await page.close();
});

test("a running job's progress bar moves without a reload, and new jobs appear", { skip }, async () => {
  const page = await adminCtx.newPage();
  await page.goto(`${dash}/jobs`);
  await page.locator('#jobs table, #jobs p').first().waitFor();
  await page.evaluate('window.notReloaded = true');
  const id = await submit('/hold/progress', 'long work');
  await row(page, id).waitFor(); // appeared live
  await upstream.progress(id, 20);
  await eventually(async () => (await row(page, id).locator('progress').getAttribute('value')) === '20' || undefined, 10_000);
  await upstream.progress(id, 65);
  await eventually(async () => (await row(page, id).locator('progress').getAttribute('value')) === '65' || undefined, 10_000);
  assert.match(await row(page, id).innerText(), /Running/);
  await shot(page, 'jobs-live-progress');
  await upstream.finish(id);
  await eventually(async () => /Succeeded/.test(await row(page, id).innerText()) || undefined, 10_000);
  assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was reloaded');
  await page.close();
});

test('cancel from the detail page cancels the job (as the monitor shows)', { skip }, async () => {
  const id = await submit('/hold/cancel-me', 'cancel me');
  await eventually(async () => upstream.held.get(id));
  const page = await adminCtx.newPage();
  await page.goto(`${dash}/jobs/${id}`);
  await page.locator('#job .panel').first().waitFor();
  await shot(page, 'job-running');
  await page.click('button[data-action=cancel]');
  await page.locator('#action-outcome.ok').waitFor();
  await eventually(async () => (await monitor(id)).status === 'Canceled');
  await page.close();
});

test('retry runs a failed job again and it succeeds: the upstream sees a second request', { skip }, async () => {
  const id = await submit('/fail-once/retry-me', 'try twice');
  await eventually(async () => (await monitor(id)).status === 'Failed');
  const page = await adminCtx.newPage();
  await page.goto(`${dash}/jobs/${id}`);
  await page.locator('#job .panel').first().waitFor();
  assert.match(await page.locator('#job').innerText(), /Failed/);
  await shot(page, 'job-failed');
  await page.click('button[data-action=retry]');
  await page.locator('#action-outcome.ok').waitFor();
  await eventually(async () => (await monitor(id)).status === 'Succeeded');
  assert.equal(upstream.seen.filter((s) => s.path === '/fail-once/retry-me').length, 2);
  await eventually(async () => /Succeeded/.test(await page.locator('#job').innerText()) || undefined); // live on the page too
  // The timeline shows both upstream attempts: the first failed with the upstream's 500, the retry succeeded.
  const ended = page.locator('ol.timeline li[data-kind="attempt-ended"]');
  await eventually(async () => (await ended.count()) === 2 || undefined);
  assert.match(await ended.nth(0).innerText(), /attempt 1 failed: the upstream answered 500.*status 500, \d+(\.\d)? m?s/s);
  assert.match(await ended.nth(1).innerText(), /attempt 2 succeeded.*status 200/s);
  await shot(page, 'job-retried');
  await page.close();
});

test('bulk retry: counts the failed jobs matching the filter first (dry run), asks, then retries them', { skip }, async () => {
  const ids = await Promise.all(['bulk-a', 'bulk-b'].map((k) => submit(`/fail-once/${k}`, 'bulk')));
  await eventually(async () => (await Promise.all(ids.map(monitor))).every((m) => m.status === 'Failed'));
  const page = await adminCtx.newPage();
  await page.goto(`${dash}/jobs?state=Failed&path=${encodeURIComponent('/fail-once/bulk-')}`);
  await row(page, ids[0]!).waitFor();
  await page.click('#bulk-retry');
  const confirm = page.locator('#bulk-retry-confirm .confirm');
  await confirm.waitFor();
  assert.match(await confirm.innerText(), /2 jobs match/);
  assert.equal(upstream.seen.filter((s) => s.path.startsWith('/fail-once/bulk-')).length, 2, 'the dry run changed nothing');
  await shot(page, 'jobs-bulk-retry');
  await confirm.locator('button.danger').click();
  await page.locator('#bulk-retry-outcome.ok').waitFor();
  assert.match(await page.locator('#bulk-retry-outcome').innerText(), /Retried 2 jobs/);
  await eventually(async () => (await Promise.all(ids.map(monitor))).every((m) => m.status === 'Succeeded'));
  await page.close();
});

test('redeliver sends the callback again with the same webhook-id', { skip }, async () => {
  const id = await submit('/plain/with-callback', 'call me back', { callback: `<${receiver.url}/hook>; method="post"` });
  await eventually(async () => receiver.received.length >= 1 || undefined);
  const first = receiver.received.length;
  const page = await adminCtx.newPage();
  await page.goto(`${dash}/jobs/${id}`);
  const panel = page.locator('section.delivery');
  await panel.waitFor();
  await eventually(async () => /delivered/.test(await panel.innerText()) || (await page.reload(), undefined));
  await shot(page, 'job-with-callback');
  await panel.locator('button[data-redeliver]').click();
  await page.locator('#action-outcome.ok').waitFor();
  await eventually(async () => receiver.received.length > first || undefined);
  const [a, b] = receiver.received.slice(-2);
  assert.ok(a!.headers['webhook-id'], 'signed with a webhook-id');
  assert.equal(b!.headers['webhook-id'], a!.headers['webhook-id']);
  const deliveryId = String(a!.headers['webhook-id']);
  await page.goto(`${dash}/deliveries`);
  await page.locator(`tr[data-delivery-id="${deliveryId}"]`).waitFor();
  await shot(page, 'deliveries');
  await page.goto(`${dash}/deliveries/${deliveryId}`);
  await page.locator('#delivery table').waitFor();
  assert.ok((await page.locator('#delivery tbody tr').count()) >= 2, 'every attempt is listed');
  await shot(page, 'delivery');
  await page.close();
});

test('the viewer sees no action buttons, and its API calls that change things get 403', { skip }, async () => {
  const id = await submit('/hold/viewer-look', 'look, do not touch');
  const ctx = await signedIn(VIEWER);
  const page = await ctx.newPage();
  await page.goto(`${dash}/jobs/${id}`);
  await page.locator('#job .panel').first().waitFor();
  assert.equal(await page.getByTestId('role').innerText(), 'viewer · read-only');
  assert.equal(await page.locator('button[data-action], button[data-redeliver]').count(), 0);
  await shot(page, 'job-as-viewer');
  await page.goto(`${dash}/jobs`);
  await row(page, id).waitFor();
  assert.equal(await page.locator('#bulk-retry').count(), 0);
  await page.goto(`${dash}/deliveries`);
  assert.equal(await page.locator('#bulk-redeliver-form').count(), 0);
  // As strings: the browser runs them as they are (no helpers of the test's compiler in them).
  const answers: Array<[number, string]> = [];
  for (const [method, path] of [['POST', `/jobs/${id}/cancel`], ['POST', `/jobs/${id}/retry`], ['DELETE', `/jobs/${id}`], ['POST', '/deliveries/redeliver?since=0']]) {
    answers.push(await page.evaluate(`fetch('/_async/admin${path}', { method: '${method}' }).then(async (r) => [r.status, (await r.json()).type])`));
  }
  for (const [status, type] of answers) {
    assert.equal(status, 403);
    assert.equal(type, 'urn:asyncgate:problem:forbidden');
  }
  // Reading works, with the cookie alone.
  assert.equal(await page.evaluate("fetch('/_async/admin/jobs').then((r) => r.status)"), 200);
  assert.equal((await monitor(id)).status, 'Running');
  await upstream.finish(id);
  await ctx.close();
});

test('a cross-origin form post is refused (403 forbidden), even with the session cookie', { skip }, async () => {
  const id = await submit('/hold/csrf-target', 'do not cancel me');
  await eventually(async () => upstream.held.get(id));
  // Another origin on the same host (another port): same site, so SameSite=Strict alone would let the cookie go.
  const evil = createServer((req, res) => {
    const target = req.url === '/sign-in' ? `${dash}/sign-in` : `${gw.url}/_async/admin/jobs/${id}/cancel`;
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<form method="post" action="${target}"><input name="token" value="${ADMIN}"></form><script>document.forms[0].submit()</script>`);
  });
  const evilUrl = await listenLoopback(evil);
  try {
    const page = await adminCtx.newPage();
    for (const path of ['/cancel', '/sign-in']) {
      const [answer] = await Promise.all([page.waitForResponse((r) => r.url().startsWith(gw.url) && r.request().method() === 'POST'), page.goto(`${evilUrl}${path}`)]);
      assert.equal(answer.status(), 403, path);
      const problem = (await answer.json()) as { type: string; detail: string };
      assert.equal(problem.type, 'urn:asyncgate:problem:forbidden');
      assert.match(problem.detail, /cross-site request was refused/);
      assert.ok(!answer.headers()['set-cookie'], 'no session was made');
    }
    assert.equal((await monitor(id)).status, 'Running');
    await page.close();
  } finally {
    await closeNow(evil);
    await upstream.finish(id);
  }
});

test('every page at 390×844 (dark) and 1280×800 has no horizontal overflow', { skip }, async () => {
  const ids = [...upstream.held.keys()];
  const job = ids.at(-1) ?? (await submit('/plain/any', 'x'));
  const delivery = String(receiver.received.at(-1)?.headers['webhook-id'] ?? 'none');
  const phone = await signedIn(ADMIN, { viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
  for (const [ctx, size] of [[phone, 'phone'], [adminCtx, 'desktop']] as const) {
    const page = await ctx.newPage();
    for (const [name, path] of [['overview', ''], ['jobs', '/jobs'], ['job', `/jobs/${job}`], ['deliveries', '/deliveries'], ['delivery', `/deliveries/${delivery}`]]) {
      await page.goto(`${dash}${path}`);
      // (Not waitForFunction: its polling evaluates a string, which the page's CSP rightly refuses.)
      await eventually(async () => (await page.locator('main div.muted', { hasText: 'Loading…' }).count()) === 0 || undefined);
      const [scroll, width] = await page.evaluate<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]');
      assert.ok(scroll <= width, `${name} at ${size}: ${scroll} px wide in a ${width} px window`);
      await shot(page, `${name}-${size}`);
    }
    await page.close();
  }
  // Keyboard: the first Tab lands on a visible, focused link.
  const page = await phone.newPage();
  await page.goto(`${dash}/jobs`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.tagName'), 'A');
  await phone.close();
});

test('sign out ends the session: the page and the API refuse the old cookie', { skip }, async () => {
  const ctx = await signedIn(ADMIN);
  const page = await ctx.newPage();
  await page.goto(dash);
  const cookie = (await ctx.cookies()).find((c) => c.name === 'asyncgate_session')!;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/_async');
  await Promise.all([page.waitForURL(/\/dashboard\/sign-in$/), page.click('text=Sign out')]);
  assert.equal((await ctx.cookies()).find((c) => c.name === 'asyncgate_session'), undefined);
  assert.equal(await page.evaluate("fetch('/_async/admin/jobs').then((r) => r.status)"), 401);
  await page.goto(`${dash}/jobs`);
  assert.match(page.url(), /sign-in/);
  await ctx.close();
});

test('with no token configured, the dashboard is a 404 page saying how to turn it on', { skip }, async () => {
  const off = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(tempDir(), 'off.db')}`]).start();
  try {
    for (const path of ['/_async/dashboard', '/_async/dashboard/jobs', '/_async/dashboard/sign-in']) {
      const res = await fetch(`${off.url}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const text = await res.text();
      assert.match(text, /--admin-token/);
      assert.match(text, /--viewer-token/);
    }
    assert.equal((await fetch(`${off.url}/_async/admin/events`)).status, 404);
  } finally {
    await off.stop();
  }
});
