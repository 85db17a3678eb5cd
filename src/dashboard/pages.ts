import { DELIVERY_STATES, JOB_ERROR_CODES } from '../model.js';
import { html, raw, type Html } from './html.js';

const STATUSES = ['NotStarted', 'Running', 'Succeeded', 'Failed', 'Canceled'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A `<select>` of `options` (value = label) with an "any" first, the query's value selected. */
function select(name: string, label: string, options: readonly string[], query: URLSearchParams, labels: Record<string, string> = {}): Html {
  const current = query.get(name) ?? '';
  return html`<label>${label}<select name="${name}"><option value="">any</option>${options.map(
    (o) => html`<option value="${o}"${o.toLowerCase() === current.toLowerCase() ? raw(' selected') : ''}>${labels[o] ?? o}</option>`,
  )}</select></label>`;
}

function input(name: string, label: string, type: string, query: URLSearchParams, extra: Html = raw('')): Html {
  return html`<label${type === 'search' || name === 'path' || name === 'host' ? raw(' class="grow"') : ''}>${label}<input type="${type}" name="${name}" value="${query.get(name) ?? ''}"${extra}></label>`;
}

/** An outcome line that screen readers announce. */
const outcome = (id: string) => html`<output class="outcome" id="${id}" role="status" aria-live="polite"></output>`;

export function overviewBody(): Html {
  return html`<h1>Overview</h1>
<div class="grid">
  <section class="panel" aria-labelledby="h-states"><h2 id="h-states">Jobs by state</h2><div id="jobs-by-state" class="muted">Loading…</div></section>
  <section class="panel" aria-labelledby="h-running"><h2 id="h-running">Running</h2><div id="running" class="muted">Loading…</div></section>
  <section class="panel" aria-labelledby="h-oldest"><h2 id="h-oldest">Oldest queued job</h2><div id="oldest" class="muted">Loading…</div></section>
  <section class="panel" aria-labelledby="h-deliveries"><h2 id="h-deliveries">Deliveries</h2><div id="deliveries-by-state" class="muted">Loading…</div></section>
</div>
<section class="panel" aria-labelledby="h-chart">
  <h2 id="h-chart">Accepted and finished per minute, last hour</h2>
  <div class="legend"><span class="accepted">accepted</span><span class="finished">finished</span></div>
  <div id="chart" class="muted">Loading…</div>
</section>
<section class="panel" aria-labelledby="h-hosts"><h2 id="h-hosts">Hosts with the most failing deliveries (24 h)</h2><div id="failing-hosts" class="muted">Loading…</div></section>`;
}

export function jobsBody(query: URLSearchParams, admin: boolean): Html {
  return html`<h1>Jobs</h1>
<section class="panel" aria-label="Filters">
  <form class="filters" method="get" role="search">
    ${input('q', 'Search: id, idempotency key, URL, body text', 'search', query)}
    ${select('state', 'State', STATUSES, query)}
    ${select('method', 'Method', METHODS, query)}
    ${input('path', 'Path starts with', 'text', query, raw(' placeholder="/exports"'))}
    ${select('error', 'Error', Object.keys(JOB_ERROR_CODES), query)}
    ${input('since', 'Created after', 'datetime-local', query)}
    ${input('until', 'Created before', 'datetime-local', query)}
    <button type="submit">Filter</button>
    <a class="button secondary" href="?">Clear</a>
  </form>
</section>
${admin ? bulkRetry() : ''}
<section class="panel" aria-labelledby="h-list">
  <h2 id="h-list">Newest first</h2>
  <div id="live-notice"></div>
  <div id="jobs" class="table-box muted">Loading…</div>
  <nav class="pager" aria-label="Pages" id="pager"></nav>
</section>`;
}

function bulkRetry(): Html {
  return html`<section class="panel" aria-labelledby="h-bulk-retry">
  <h2 id="h-bulk-retry">Retry every failed job matching these filters</h2>
  <div class="actions"><button type="button" id="bulk-retry" class="secondary">Count the jobs to retry…</button></div>
  <div id="bulk-retry-confirm"></div>
  ${outcome('bulk-retry-outcome')}
</section>`;
}

export function jobBody(id: string, admin: boolean): Html {
  return html`<h1>Job <span class="mono">${id}</span></h1>
${admin
  ? html`<section class="panel" aria-labelledby="h-actions"><h2 id="h-actions">Actions</h2>
  <div class="actions">
    <button type="button" data-action="cancel">Cancel</button>
    <button type="button" data-action="retry">Retry</button>
    <button type="button" data-action="delete" class="danger">Delete…</button>
  </div>
  <div id="action-confirm"></div>
  ${outcome('action-outcome')}
</section>`
  : ''}
<div id="job" class="muted">Loading…</div>`;
}

export function deliveriesBody(query: URLSearchParams, admin: boolean): Html {
  return html`<h1>Deliveries</h1>
<section class="panel" aria-label="Filters">
  <form class="filters" method="get">
    ${select('state', 'State', DELIVERY_STATES, query, { failed: 'failed (dead letter)', gone: 'gone (410)' })}
    ${input('host', 'Host', 'text', query)}
    ${input('status', 'Last status', 'text', query, raw(' placeholder="500 or 5xx" size="8"'))}
    ${input('job', 'Job id', 'text', query)}
    ${input('since', 'Updated after', 'datetime-local', query)}
    <button type="submit">Filter</button>
    <a class="button secondary" href="?">Clear</a>
  </form>
</section>
${admin
  ? html`<section class="panel" aria-labelledby="h-bulk-redeliver">
  <h2 id="h-bulk-redeliver">Redeliver every dead letter since a time</h2>
  <form class="filters" id="bulk-redeliver-form">
    <label>Dead-lettered since<input type="datetime-local" name="since" required></label>
    <label class="grow">Only this host (optional)<input type="text" name="host"></label>
    <button type="submit" class="secondary">Count the dead letters…</button>
  </form>
  <div id="bulk-redeliver-confirm"></div>
  ${outcome('bulk-redeliver-outcome')}
</section>`
  : ''}
<section class="panel" aria-labelledby="h-dlist">
  <h2 id="h-dlist">Newest first</h2>
  <div id="deliveries" class="table-box muted">Loading…</div>
  <nav class="pager" aria-label="Pages" id="pager"></nav>
</section>`;
}

export function deliveryBody(id: string, admin: boolean): Html {
  return html`<h1>Delivery <span class="mono">${id}</span></h1>
${admin
  ? html`<section class="panel" aria-labelledby="h-actions"><h2 id="h-actions">Actions</h2>
  <div class="actions"><button type="button" data-action="redeliver">Redeliver</button></div>
  ${outcome('action-outcome')}
</section>`
  : ''}
<div id="delivery" class="muted">Loading…</div>`;
}

export function signInBody(dash: string, next: string, error: string | undefined): Html {
  return html`<h1>asyncgate dashboard</h1>
<section class="panel">
  <form method="post" action="${dash}/sign-in">
    <input type="hidden" name="next" value="${next}">
    <label>Token (admin or viewer)
      <input type="password" name="token" autocomplete="current-password" required autofocus${error ? raw(' aria-invalid="true" aria-describedby="sign-in-error"') : ''}>
    </label>
    ${error ? html`<p class="error-text" id="sign-in-error" role="alert">${error}</p>` : ''}
    <button type="submit">Sign in</button>
  </form>
  <p class="muted">The admin token may change things; the viewer token only looks. The session lasts 12 hours.</p>
</section>`;
}

export function offBody(): Html {
  return html`<h1>The dashboard is off</h1>
<section class="panel">
  <p>No admin or viewer token is configured, so the dashboard and the admin API are switched off.</p>
  <p>Start asyncgate with a token of at least 16 characters to turn them on:</p>
  <pre>asyncgate serve --upstream http://127.0.0.1:3000 --admin-token "$(openssl rand -base64 24)"</pre>
  <p><code>--admin-token</code> (or <code>ASYNCGATE_ADMIN_TOKEN</code>, or <code>adminToken</code> in the config file) may change things;
  <code>--viewer-token</code> (<code>ASYNCGATE_VIEWER_TOKEN</code>, <code>viewerToken</code>) may only look.</p>
</section>`;
}

export function errorBody(title: string, detail: string, dash: string): Html {
  return html`<h1>${title}</h1><section class="panel"><p>${detail}</p><p><a href="${dash}">Back to the dashboard</a></p></section>`;
}
