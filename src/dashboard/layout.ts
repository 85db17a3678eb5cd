import { html, raw, type Html } from './html.js';
import type { Role } from '../http/session.js';

export type Section = 'overview' | 'jobs' | 'deliveries';

/** What every page of the dashboard is rendered with. */
export interface PageFrame {
  prefix: string;
  role: Role;
  title: string;
  /** Which page script runs (`data-page`), e.g. `jobs`, `job`. */
  page: string;
  section: Section;
  /** More `data-*` for the script (e.g. the job id). */
  data?: Record<string, string>;
  /** Version of the assets, so a new release is fetched at once. */
  assets: string;
}

const NAV: Array<[Section, string, string]> = [
  ['overview', 'Overview', ''],
  ['jobs', 'Jobs', '/jobs'],
  ['deliveries', 'Deliveries', '/deliveries'],
];

function head(prefix: string, title: string, assets: string, script: boolean): Html {
  const base = `${prefix}/dashboard/assets`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · asyncgate</title>
<link rel="stylesheet" href="${base}/console.css?v=${assets}">
${script ? html`<script src="${base}/console.js?v=${assets}" defer></script>` : ''}
</head>`;
}

/** A signed-in page: the header (sections, role, sign-out) around `body`. */
export function page(frame: PageFrame, body: Html): string {
  const dash = `${frame.prefix}/dashboard`;
  const data = Object.entries(frame.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  return html`${head(frame.prefix, frame.title, frame.assets, true)}
<body>
<header class="top">
  <a class="brand" href="${dash}">asyncgate</a>
  <nav aria-label="Sections">${NAV.map(([key, label, path]) => html`<a href="${dash}${path}"${key === frame.section ? raw(' aria-current="page"') : ''}>${label}</a>`)}</nav>
  <div class="who">
    <span class="badge" data-testid="role">${frame.role === 'admin' ? 'admin' : 'viewer · read-only'}</span>
    <form method="post" action="${dash}/sign-out"><button type="submit" class="secondary">Sign out</button></form>
  </div>
</header>
<main data-page="${frame.page}" data-api="${frame.prefix}/admin" data-dashboard="${dash}" data-role="${frame.role}"${data}>
${body}
</main>
</body>
</html>`.text;
}

/** A page outside the signed-in frame (sign-in, the dashboard switched off, an error). */
export function plainPage(prefix: string, title: string, assets: string, body: Html): string {
  return html`${head(prefix, title, assets, false)}
<body>
<main class="signin">
${body}
</main>
</body>
</html>`.text;
}
