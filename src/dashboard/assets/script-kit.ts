/**
 * The first half of the dashboard's script (assets/script.ts puts it together): the page's settings, a DOM
 * builder that only ever inserts text, the admin API call, formatting, tables, the confirm step, paging, and
 * the admin event stream. Kept free of backquotes and dollar-brace so it can live in this string.
 */
export const SCRIPT_KIT = String.raw`  'use strict';
  var main = document.querySelector('main[data-page]');
  if (!main) return;
  var API = main.dataset.api, DASH = main.dataset.dashboard, PAGE = main.dataset.page;
  var ADMIN = main.dataset.role === 'admin';
  var query = new URLSearchParams(location.search);
  var $ = function (id) { return document.getElementById(id); };

  // ---- DOM and API helpers ----
  function el(tag, props) {
    var node = tag === 'svg' || props && props.svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false || k === 'svg') return;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'class') node.setAttribute('class', v);
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, kid) {
    if (kid === undefined || kid === null || kid === false) return;
    if (Array.isArray(kid)) return kid.forEach(function (k) { append(node, k); });
    node.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
  }
  function fill(node, content) {
    if (!node) return;
    node.textContent = '';
    node.classList.remove('muted');
    append(node, content);
  }
  async function call(method, path, params) {
    var qs = params ? params.toString() : '';
    var res;
    try {
      res = await fetch(API + path + (qs ? '?' + qs : ''), { method: method, credentials: 'same-origin', headers: { accept: 'application/json' } });
    } catch (e) {
      return { ok: false, status: 0, body: { detail: 'the gateway could not be reached' } };
    }
    var text = await res.text(), body = null;
    if (text) { try { body = JSON.parse(text); } catch (e) { body = { detail: text }; } }
    if (res.status === 401) location.href = DASH + '/sign-in?next=' + encodeURIComponent(location.pathname + location.search);
    return { ok: res.ok, status: res.status, body: body };
  }
  function problem(r) { return (r.body && (r.body.detail || r.body.title)) || 'HTTP ' + r.status; }
  function say(node, text, kind) {
    if (!node) return;
    node.textContent = text;
    node.className = 'outcome' + (kind ? ' ' + kind : '');
  }
  function fmt(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
  }
  function time(iso) { return iso ? el('time', { datetime: iso, text: fmt(iso) }) : '—'; }
  function age(ms) {
    if (ms === null || ms === undefined) return '—';
    var s = Math.round(ms / 1000);
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.round(s / 60) + ' min';
    if (s < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }
  function badge(text) { return el('span', { class: 'badge ' + text, text: text }); }
  function table(headers, rows, empty) {
    if (!rows.length) return el('p', { class: 'muted', text: empty || 'Nothing here.' });
    return el('div', { class: 'table-box' }, el('table', null,
      el('thead', null, el('tr', null, headers.map(function (h) { return el('th', { scope: 'col', text: h }); }))),
      el('tbody', null, rows)));
  }
  function fields(pairs) {
    return el('dl', { class: 'fields' }, pairs.filter(Boolean).map(function (p) { return [el('dt', { text: p[0] }), el('dd', null, p[1])]; }));
  }
  function panel(title, content) { return el('section', { class: 'panel' }, el('h2', { text: title }), content); }
  /** A local datetime-local value as ISO; anything else (ISO already, epoch ms) as it is. */
  function toIso(v) {
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v)) { var d = new Date(v); if (!isNaN(d)) return d.toISOString(); }
    return v;
  }
  function apiQuery(keys, dates) {
    var p = new URLSearchParams();
    keys.forEach(function (k) { var v = query.get(k); if (v) p.set(k, v); });
    (dates || []).forEach(function (k) { var v = query.get(k); if (v) p.set(k, toIso(v)); });
    return p;
  }
  /** Asks before a change: a sentence and two buttons in 'box'; 'run' on yes. */
  function confirmIn(box, text, yes, run) {
    var go = el('button', { type: 'button', class: 'danger', text: yes });
    var no = el('button', { type: 'button', class: 'secondary', text: 'Cancel' });
    go.addEventListener('click', function () { fill(box, null); run(); });
    no.addEventListener('click', function () { fill(box, null); });
    fill(box, el('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm' }, el('p', { text: text }), el('div', { class: 'actions' }, go, no)));
    go.focus();
  }
  function pager(next, rebuild) {
    var nav = $('pager');
    if (!nav) return;
    var links = [];
    if (query.get('after')) { var first = new URLSearchParams(query); first.delete('after'); links.push(el('a', { href: '?' + first, text: '← Newest' })); }
    if (next) {
      var after = new URL(next, location.href).searchParams.get('after');
      var more = new URLSearchParams(query); more.set('after', after);
      links.push(el('a', { href: '?' + more, text: 'Older →' }));
    }
    fill(nav, links);
    if (rebuild) rebuild();
  }
  function live(handlers) {
    if (!window.EventSource) return;
    var es = new EventSource(API + '/events');
    if (handlers.job) es.addEventListener('job', function (e) { handlers.job(JSON.parse(e.data)); });
    if (handlers.gone) es.addEventListener('gone', function (e) { handlers.gone(JSON.parse(e.data).id); });
    if (handlers.resync) es.addEventListener('resync', handlers.resync);
    window.addEventListener('pagehide', function () { es.close(); });
  }
  function progressOf(job) {
    var pct = job.percentComplete;
    if (pct === undefined && job.status !== 'Running') return el('span', { class: 'muted', text: '—' });
    var bar = el('progress', { max: 100, 'aria-label': 'progress of ' + job.id });
    if (pct !== undefined) bar.value = pct;
    var msg = job.progress && job.progress.message;
    return el('span', { class: 'progress' }, bar, ' ', el('span', { class: 'pct', text: pct === undefined ? '' : pct + ' %' }), msg ? el('div', { class: 'muted', text: msg }) : null);
  }
  function jobLink(id) { return el('a', { href: DASH + '/jobs/' + encodeURIComponent(id), class: 'mono', text: id }); }

`;
