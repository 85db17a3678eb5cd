import { SCRIPT_KIT } from './script-kit.js';

/**
 * The dashboard's one script, served at `{prefix}/dashboard/assets/console.js`: it reads the admin API with
 * the session cookie and fills in the page the server rendered (data-page on <main> says which), follows
 * `GET /admin/events` for live rows and progress bars, and, for an admin, sends the actions. Plain browser
 * JavaScript, no build step; every value from the API goes in as text (textContent), never as markup.
 * Kept free of backquotes and dollar-brace so it can live in this string. The helpers are in script-kit.ts.
 */
const PAGES = String.raw`  // ---- overview ----
  var STATE_LABELS = { queued: 'NotStarted', running: 'Running', succeeded: 'Succeeded', failed: 'Failed', canceled: 'Canceled' };
  function countTable(byState, link, labels) {
    var rows = Object.keys(byState || {}).map(function (k) {
      return el('tr', null, el('td', null, el('a', { href: link + encodeURIComponent(k) }, badge(labels[k] || k))), el('td', { class: 'nowrap', text: byState[k] }));
    });
    return table(['state', 'count'], rows, 'None.');
  }
  function chart(perMinute) {
    var W = 600, H = 140, top = 14, bottom = 18, n = perMinute.length || 60, slot = W / n;
    var max = 1;
    perMinute.forEach(function (m) { max = Math.max(max, m.accepted || 0, m.finished || 0); });
    var total = perMinute.reduce(function (s, m) { return s + (m.accepted || 0); }, 0);
    var svg = el('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': total + ' jobs accepted in the last hour; peak ' + max + ' per minute' });
    var scale = function (v) { return (H - top - bottom) * (v / max); };
    perMinute.forEach(function (m, i) {
      var x = i * slot, a = scale(m.accepted || 0), f = scale(m.finished || 0);
      var t = el('title', { svg: true, text: fmt(m.minute) + ': ' + (m.accepted || 0) + ' accepted, ' + (m.finished || 0) + ' finished' });
      svg.appendChild(el('rect', { svg: true, class: 'accepted', x: x + slot * 0.1, y: H - bottom - a, width: slot * 0.38, height: a }, t));
      svg.appendChild(el('rect', { svg: true, class: 'finished', x: x + slot * 0.52, y: H - bottom - f, width: slot * 0.38, height: f }));
    });
    svg.appendChild(el('line', { svg: true, class: 'axis', x1: 0, x2: W, y1: H - bottom, y2: H - bottom }));
    svg.appendChild(el('text', { svg: true, x: 0, y: 10, text: max + '/min' }));
    svg.appendChild(el('text', { svg: true, x: 0, y: H - 4, text: '−60 min' }));
    svg.appendChild(el('text', { svg: true, x: W, y: H - 4, 'text-anchor': 'end', text: 'now' }));
    return svg;
  }
  async function overview() {
    var r = await call('GET', '/overview');
    if (!r.ok) { ['jobs-by-state', 'running', 'oldest', 'deliveries-by-state', 'chart', 'failing-hosts'].forEach(function (id) { fill($(id), el('p', { class: 'error-text', text: problem(r) })); }); return; }
    var o = r.body;
    fill($('jobs-by-state'), countTable(o.jobs && o.jobs.byState, DASH + '/jobs?state=', STATE_LABELS));
    var meter = el('meter', { min: 0, max: o.concurrency || 1, value: o.running || 0, 'aria-label': 'running jobs of the concurrency' });
    fill($('running'), [el('div', { class: 'big', text: (o.running || 0) + ' / ' + o.concurrency }), meter, el('div', { class: 'muted', text: 'running / --concurrency' })]);
    fill($('oldest'), [el('div', { class: 'big', text: o.oldestQueuedAgeMs === null ? 'none' : age(o.oldestQueuedAgeMs) }), el('div', { class: 'muted', text: o.oldestQueuedAgeMs === null ? 'nothing is waiting' : 'waiting in the queue' })]);
    fill($('deliveries-by-state'), countTable(o.deliveries && o.deliveries.byState, DASH + '/deliveries?state=', { failed: 'failed (dead letter)' }));
    fill($('chart'), chart(o.perMinute || []));
    fill($('failing-hosts'), table(['host', 'failing', 'last status'], (o.failingHosts || []).map(function (h) {
      return el('tr', null, el('td', null, el('a', { href: DASH + '/deliveries?host=' + encodeURIComponent(h.host), text: h.host })), el('td', { text: h.failed }), el('td', { text: h.lastStatus === null || h.lastStatus === undefined ? '—' : h.lastStatus }));
    }), 'No failing deliveries in the last 24 hours.'));
  }

  // ---- jobs ----
  var JOB_KEYS = ['q', 'state', 'method', 'path', 'error', 'after', 'limit'];
  function jobCells(job) {
    return [
      el('td', { class: 'id' }, jobLink(job.id)),
      el('td', { class: 'status' }, badge(job.status)),
      el('td', { class: 'progress-cell' }, progressOf(job)),
      el('td', { class: 'url' }, el('span', { class: 'mono', text: job.request.method + ' ' }), job.request.url),
      el('td', { class: 'nowrap' }, time(job.createdDateTime)),
      el('td', { class: 'mono', text: job.error ? job.error.code : '' }),
    ];
  }
  function jobRow(job) { return el('tr', { 'data-job-id': job.id }, jobCells(job)); }
  function simpleMatch(job) {
    if (query.get('q') || query.get('after') || query.get('until')) return false;
    var s = (query.get('state') || '').toLowerCase();
    if (s && (STATE_LABELS[s] || s).toLowerCase() !== job.status.toLowerCase()) return false;
    var m = query.get('method'); if (m && job.request.method !== m.toUpperCase()) return false;
    var p = query.get('path'); if (p && job.request.url.indexOf(p) !== 0) return false;
    var e = query.get('error'); if (e && !(job.error && job.error.code === e)) return false;
    var since = query.get('since'); if (since && new Date(job.createdDateTime) < new Date(toIso(since))) return false;
    return true;
  }
  async function jobs() {
    var shown = new Set();
    var r = await call('GET', '/jobs', apiQuery(JOB_KEYS, ['since', 'until']));
    if (!r.ok) return fill($('jobs'), el('p', { class: 'error-text', text: problem(r) }));
    var tbody;
    function render(items) {
      var t = table(['job', 'status', 'progress', 'request', 'created', 'error'], items.map(function (j) { shown.add(j.id); return jobRow(j); }), 'No job matches.');
      tbody = t.querySelector ? t.querySelector('tbody') : null;
      fill($('jobs'), t);
    }
    render(r.body.items);
    pager(r.body.next);
    var loaded = Date.now() - 1000, refetch = 0;
    live({
      job: function (job) {
        var row = document.querySelector('tr[data-job-id="' + CSS.escape(job.id) + '"]');
        if (row) { row.textContent = ''; append(row, jobCells(job)); return; }
        if (shown.has(job.id) || new Date(job.createdDateTime) < loaded) return;
        shown.add(job.id);
        if (simpleMatch(job)) {
          if (!tbody) render([job]); else tbody.insertBefore(jobRow(job), tbody.firstChild);
        } else if (query.get('q') || query.get('until')) {
          fill($('live-notice'), el('p', { class: 'notice' }, 'New jobs have arrived. ', el('a', { href: location.href, text: 'Search again' })));
        }
      },
      gone: function (id) { var row = document.querySelector('tr[data-job-id="' + CSS.escape(id) + '"]'); if (row) row.classList.add('muted'); },
      // Changes were dropped (more than a page can show): fetch this page again, at most every 2 s.
      resync: function () {
        if (refetch) return;
        refetch = setTimeout(async function () {
          refetch = 0;
          if (query.get('after')) return fill($('live-notice'), el('p', { class: 'notice' }, 'Many changes at once. ', el('a', { href: location.href, text: 'Reload the list' })));
          var again = await call('GET', '/jobs', apiQuery(JOB_KEYS, ['since', 'until']));
          if (again.ok) render(again.body.items);
        }, 2000);
      },
    });
    var bulk = $('bulk-retry');
    if (bulk) bulk.addEventListener('click', bulkRetry);
  }
  async function bulkRetry() {
    var out = $('bulk-retry-outcome'), box = $('bulk-retry-confirm');
    var p = apiQuery(['q', 'state', 'method', 'path', 'error'], ['since', 'until']);
    p.set('limit', '100');
    p.set('dry-run', '1');
    say(out, 'Counting…');
    var r = await call('POST', '/jobs/retry', p);
    if (!r.ok) return say(out, problem(r), 'bad');
    var n = r.body.matched, cap = r.body.cap;
    if (!n) return say(out, 'No failed or canceled job matches these filters: nothing to retry.', 'ok');
    say(out, '');
    var will = Math.min(n, cap);
    var text = n > cap ? 'More than ' + cap + ' jobs match: the first ' + cap + ' will run again.' : n + (n === 1 ? ' job matches and will run again.' : ' jobs match and will run again.');
    confirmIn(box, text, 'Retry ' + will + (will === 1 ? ' job' : ' jobs'), async function () {
      p.delete('dry-run');
      var done = await call('POST', '/jobs/retry', p);
      if (!done.ok) return say(out, problem(done), 'bad');
      say(out, 'Retried ' + done.body.retried + (done.body.retried === 1 ? ' job.' : ' jobs.'), 'ok');
    });
  }

  // ---- one job ----
  function headerTable(headers) {
    return table(['header', 'value'], (headers || []).map(function (h) { return el('tr', null, el('td', { class: 'mono nowrap', text: h[0] }), el('td', { class: 'url mono', text: h[1] })); }), 'No headers.');
  }
  function preview(part) {
    if (!part.bodySize) return el('p', { class: 'muted', text: 'No body.' });
    if (part.bodyPreview === null || part.bodyPreview === undefined) return el('p', { class: 'muted', text: 'Binary body, ' + part.bodySize + ' bytes.' });
    return [el('pre', { class: 'body-preview', text: part.bodyPreview }), part.bodyTruncated ? el('p', { class: 'muted', text: 'The first 4 KiB of ' + part.bodySize + ' bytes.' }) : null];
  }
  function attemptRows(attempts) {
    return (attempts || []).map(function (a) {
      return el('tr', null, el('td', { text: a.n }), el('td', { class: 'nowrap' }, time(a.at)), el('td', { text: a.status === null ? '—' : a.status }),
        el('td', { class: 'nowrap', text: a.latencyMs + ' ms' }), el('td', { class: 'url mono', text: a.error || a.snippet || '' }));
    });
  }
  function redeliverButton(id, out, after) {
    if (!ADMIN) return null;
    return el('button', { type: 'button', class: 'secondary', 'data-redeliver': id, text: 'Redeliver', onclick: async function () {
      say(out, 'Redelivering…');
      var r = await call('POST', '/deliveries/' + encodeURIComponent(id) + '/redeliver');
      if (!r.ok) return say(out, problem(r), 'bad');
      say(out, 'Due again now: it goes out with the same webhook-id (' + id + ').', 'ok');
      if (after) after();
    } });
  }
  /** A delivery's attempts: the list when the API sent one (in place of the count), else none. */
  function attemptsOf(d) { return Array.isArray(d.attempts) ? d.attempts : Array.isArray(d.attemptLog) ? d.attemptLog : []; }
  function attemptCount(d) { return String(Array.isArray(d.attempts) ? d.attempts.length : d.attempts); }
  function deliveryPanel(d, after) {
    // The page's outcome line when there is one: it outlives the re-render that follows the action.
    var out = $('action-outcome') || el('output', { class: 'outcome', role: 'status' });
    return el('section', { class: 'panel delivery', 'data-delivery-id': d.id },
      el('h2', null, el('a', { href: DASH + '/deliveries/' + encodeURIComponent(d.id), text: 'Callback to ' + d.host }), ' ', badge(d.state)),
      fields([['URL', el('span', { class: 'mono', text: (d.method || 'POST') + ' ' + d.url })], ['webhook-id', el('span', { class: 'mono', text: d.id })], ['mode', d.mode || '—'],
        ['attempts', attemptCount(d)], d.nextAttemptAt ? ['next attempt', time(d.nextAttemptAt)] : null, d.lastError ? ['last error', d.lastError] : null]),
      table(['#', 'at', 'status', 'latency', 'reply or error'], attemptRows(attemptsOf(d)), 'No attempt yet.'),
      el('div', { class: 'actions' }, redeliverButton(d.id, out, after)), out.id ? null : out);
  }
  function timeline(items) {
    if (!items || !items.length) return el('p', { class: 'muted', text: 'Nothing recorded.' });
    return el('ol', { class: 'timeline' }, items.map(function (t) {
      var extra = [];
      if (t.status !== undefined && t.status !== null) extra.push('status ' + t.status);
      if (t.latencyMs !== undefined && t.latencyMs !== null) extra.push(t.latencyMs + ' ms');
      if (t.durationMs !== undefined && t.durationMs !== null) extra.push(t.durationMs < 1000 ? t.durationMs + ' ms' : (t.durationMs / 1000).toFixed(1) + ' s');
      return el('li', { 'data-kind': t.kind, 'data-outcome': t.outcome }, time(t.at), el('strong', { text: t.kind }), ' ', t.detail || '', extra.length ? el('span', { class: 'muted', text: ' (' + extra.join(', ') + ')' }) : null);
    }));
  }
  async function jobPage() {
    var id = main.dataset.id, holder = $('job'), gone = false;
    async function load() {
      var r = await call('GET', '/jobs/' + encodeURIComponent(id));
      if (!r.ok) { fill(holder, el('p', { class: 'error-text', text: problem(r) })); return; }
      var d = r.body, job = d.job;
      var err = d.error || job.error;
      // Offer only what the job's state allows (the API would answer 409 to the rest).
      var done = ['Succeeded', 'Failed', 'Canceled'].indexOf(job.status) !== -1;
      document.querySelectorAll('button[data-action]').forEach(function (b) {
        if (b.dataset.action === 'cancel') b.disabled = done;
        if (b.dataset.action === 'retry') b.disabled = !done || job.status === 'Succeeded';
      });
      fill(holder, [
        panel('Status', fields([['status', badge(job.status)], ['progress', progressOf(job)], ['created', time(job.createdDateTime)], ['last change', time(job.lastUpdatedDateTime)],
          job.expirationDateTime ? ['expires', time(job.expirationDateTime)] : null, ['attempts', String(d.attempts === undefined ? '—' : d.attempts)],
          err ? ['error', el('span', null, el('span', { class: 'mono', text: err.code }), ': ' + err.message)] : null])),
        panel('Request', [fields([['request', el('span', { class: 'mono', text: d.request.method + ' ' + d.request.url })], ['body', (d.request.bodySize || 0) + ' bytes']]), headerTable(d.request.headers), preview(d.request)]),
        panel('Response', d.response ? [fields([['status', String(d.response.status)], ['body', (d.response.bodySize || 0) + ' bytes']]), headerTable(d.response.headers), preview(d.response)] : el('p', { class: 'muted', text: 'No response yet.' })),
        panel('Timeline', timeline(d.timeline)),
        (d.deliveries || []).length ? (d.deliveries || []).map(function (dl) { return deliveryPanel(dl, load); }) : panel('Callbacks', el('p', { class: 'muted', text: 'This job has no callback.' })),
      ]);
    }
    await load();
    var pending;
    live({
      job: function (job) { if (job.id === id && !gone) { clearTimeout(pending); pending = setTimeout(load, 150); } },
      gone: function (goneId) { if (goneId === id) { gone = true; fill(holder, el('p', { class: 'notice', text: 'This job was deleted.' })); } },
      resync: function () { if (!gone) { clearTimeout(pending); pending = setTimeout(load, 1000); } },
    });
    var out = $('action-outcome');
    document.querySelectorAll('button[data-action]').forEach(function (b) {
      b.addEventListener('click', function () {
        var action = b.dataset.action;
        if (action === 'delete') {
          return confirmIn($('action-confirm'), 'Delete this job and its result? Its monitor answers 410 Gone afterwards.', 'Delete the job', async function () {
            var r = await call('DELETE', '/jobs/' + encodeURIComponent(id));
            if (!r.ok) return say(out, problem(r), 'bad');
            gone = true;
            say(out, 'Deleted.', 'ok');
            document.querySelectorAll('button[data-action]').forEach(function (x) { x.disabled = true; });
            fill(holder, el('p', null, 'This job was deleted. ', el('a', { href: DASH + '/jobs', text: 'Back to the jobs' })));
          });
        }
        (async function () {
          say(out, action === 'cancel' ? 'Canceling…' : 'Retrying…');
          var r = await call('POST', '/jobs/' + encodeURIComponent(id) + '/' + action);
          if (!r.ok) return say(out, problem(r), 'bad');
          var status = r.body && r.body.job ? r.body.job.status : '';
          say(out, (action === 'cancel' ? 'Canceled' : 'Running again') + (status ? ': now ' + status + '.' : '.'), 'ok');
          load();
        })();
      });
    });
  }

  // ---- deliveries ----
  async function deliveries() {
    var r = await call('GET', '/deliveries', apiQuery(['state', 'host', 'status', 'job', 'after', 'limit'], ['since', 'until']));
    if (!r.ok) fill($('deliveries'), el('p', { class: 'error-text', text: problem(r) }));
    else {
      fill($('deliveries'), table(['delivery', 'job', 'to', 'state', 'attempts', 'last status', 'updated'], r.body.items.map(function (d) {
        return el('tr', { 'data-delivery-id': d.id },
          el('td', { class: 'id' }, el('a', { href: DASH + '/deliveries/' + encodeURIComponent(d.id), class: 'mono', text: d.id })),
          el('td', { class: 'id' }, jobLink(d.jobId)), el('td', { class: 'url mono', text: d.url }), el('td', null, badge(d.state)),
          el('td', { text: d.attempts }), el('td', { text: d.lastStatus === null || d.lastStatus === undefined ? '—' : d.lastStatus }), el('td', { class: 'nowrap' }, time(d.updatedAt)));
      }), 'No delivery matches.'));
      pager(r.body.next);
    }
    var form = $('bulk-redeliver-form');
    if (form) form.addEventListener('submit', async function (e) {
      e.preventDefault();
      var out = $('bulk-redeliver-outcome'), box = $('bulk-redeliver-confirm');
      var p = new URLSearchParams();
      p.set('since', toIso(form.elements.since.value));
      if (form.elements.host.value) p.set('host', form.elements.host.value);
      p.set('limit', '100');
      p.set('dry-run', '1');
      say(out, 'Counting…');
      var c = await call('POST', '/deliveries/redeliver', p);
      if (!c.ok) return say(out, problem(c), 'bad');
      var n = c.body.matched, cap = c.body.cap;
      if (!n) return say(out, 'No dead letter since then: nothing to redeliver.', 'ok');
      say(out, '');
      var will = Math.min(n, cap);
      confirmIn(box, n > cap ? 'More than ' + cap + ' dead letters: the first ' + cap + ' will be sent again.' : n + (n === 1 ? ' dead letter will be sent again.' : ' dead letters will be sent again.'), 'Redeliver ' + will, async function () {
        p.delete('dry-run');
        var done = await call('POST', '/deliveries/redeliver', p);
        if (!done.ok) return say(out, problem(done), 'bad');
        say(out, 'Redelivered ' + done.body.redelivered + '.', 'ok');
      });
    });
  }
  async function deliveryPage() {
    var id = main.dataset.id;
    async function load() {
      var r = await call('GET', '/deliveries/' + encodeURIComponent(id));
      if (!r.ok) return fill($('delivery'), el('p', { class: 'error-text', text: problem(r) }));
      var d = r.body;
      fill($('delivery'), [
        panel('Delivery', fields([['state', badge(d.state)], ['job', jobLink(d.jobId)], ['URL', el('span', { class: 'mono', text: (d.method || 'POST') + ' ' + d.url })], ['webhook-id', el('span', { class: 'mono', text: d.id })],
          ['mode', d.mode || '—'], ['attempts', attemptCount(d)], ['created', time(d.createdAt)], ['updated', time(d.updatedAt)],
          d.nextAttemptAt ? ['next attempt', time(d.nextAttemptAt)] : null, d.lastError ? ['last error', d.lastError] : null])),
        panel('Attempts', table(['#', 'at', 'status', 'latency', 'reply or error'], attemptRows(attemptsOf(d)), 'No attempt yet.')),
      ]);
    }
    await load();
    var b = document.querySelector('button[data-action="redeliver"]');
    if (b) b.addEventListener('click', async function () {
      var out = $('action-outcome');
      say(out, 'Redelivering…');
      var r = await call('POST', '/deliveries/' + encodeURIComponent(id) + '/redeliver');
      if (!r.ok) return say(out, problem(r), 'bad');
      say(out, 'Due again now: it goes out with the same webhook-id.', 'ok');
      setTimeout(load, 1500);
    });
  }

  var run = { overview: overview, jobs: jobs, job: jobPage, deliveries: deliveries, delivery: deliveryPage }[PAGE];
  if (run) run();
  if (PAGE === 'overview') setInterval(overview, 10000);
`;

export const SCRIPT = `(function () {\n${SCRIPT_KIT}${PAGES}})();\n`;
