/** The dashboard's one stylesheet, served at `{prefix}/dashboard/assets/console.css`. Light and dark follow
 * `prefers-color-scheme`; tables scroll inside their own box, so no page is wider than a 390 px phone. */
export const STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f7f7f8; --panel: #ffffff; --text: #1b1c20; --muted: #5b5f6a; --line: #d9dbe1;
  --accent: #1f5fd1; --accent-text: #ffffff; --focus: #f0a400;
  --ok: #16794c; --warn: #8a5a00; --bad: #b4232c; --info: #1f5fd1;
  --ok-bg: #e3f4ea; --warn-bg: #fdf1d8; --bad-bg: #fbe5e6; --info-bg: #e4ecfb;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px; line-height: 1.45;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14151a; --panel: #1d1f26; --text: #e7e8ec; --muted: #a3a7b3; --line: #343743;
    --accent: #6c9cf5; --accent-text: #0c1020; --focus: #ffc23d;
    --ok: #5fd39a; --warn: #f2c15b; --bad: #ff8087; --info: #8db4ff;
    --ok-bg: #173325; --warn-bg: #3a2e12; --bad-bg: #3d1c20; --info-bg: #1b2a47;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem; padding: .6rem 1rem;
  background: var(--panel); border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; color: var(--text); text-decoration: none; }
header.top nav { display: flex; flex-wrap: wrap; gap: .25rem .9rem; flex: 1; }
header.top nav a { text-decoration: none; padding: .15rem .1rem; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration: underline; text-underline-offset: 4px; }
header.top .who { display: flex; align-items: center; gap: .6rem; color: var(--muted); }
header.top form { margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.05rem; margin: 0 0 .6rem; }
section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1rem; margin-bottom: 1rem; min-width: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 1rem; margin-bottom: 1rem; }
.grid > section.panel { margin-bottom: 0; }
.stack { display: grid; gap: 1rem; margin-bottom: 1rem; }
.big { font-size: 1.8rem; font-weight: 700; }
.muted { color: var(--muted); }
.table-box { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); white-space: nowrap; }
td.id, code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
td.url { overflow-wrap: anywhere; min-width: 12rem; }
td.nowrap { white-space: nowrap; }
pre { margin: 0; padding: .6rem; background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 22rem; overflow: auto; font-size: .85rem; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600;
  background: var(--info-bg); color: var(--info); white-space: nowrap; }
.badge.Succeeded, .badge.delivered { background: var(--ok-bg); color: var(--ok); }
.badge.Failed, .badge.failed, .badge.gone { background: var(--bad-bg); color: var(--bad); }
.badge.Canceled, .badge.waiting { background: var(--warn-bg); color: var(--warn); }
progress { width: 8rem; max-width: 100%; height: .8rem; accent-color: var(--accent); vertical-align: middle; }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem .8rem; align-items: flex-end; }
form.filters label { display: grid; gap: .15rem; font-size: .8rem; color: var(--muted); min-width: 0; }
form.filters .grow { flex: 1 1 14rem; }
input, select, button { font: inherit; color: var(--text); background: var(--panel); border: 1px solid var(--line);
  border-radius: 6px; padding: .35rem .55rem; max-width: 100%; }
input[type="search"], input[type="text"], input[type="password"] { width: 100%; }
button, .button { cursor: pointer; background: var(--accent); color: var(--accent-text); border-color: var(--accent);
  font-weight: 600; text-decoration: none; display: inline-block; padding: .35rem .8rem; border-radius: 6px; border: 1px solid var(--accent); }
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
button:disabled { opacity: .55; cursor: default; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
output.outcome { display: block; margin-top: .6rem; min-height: 1.2em; }
output.outcome.bad, .error-text { color: var(--bad); }
output.outcome.ok { color: var(--ok); }
.pager { display: flex; gap: .8rem; margin-top: .8rem; flex-wrap: wrap; }
.notice { background: var(--info-bg); color: var(--info); border-radius: 6px; padding: .4rem .7rem; margin-bottom: .6rem; }
ol.timeline { list-style: none; margin: 0; padding: 0; border-left: 2px solid var(--line); }
ol.timeline li { position: relative; padding: .15rem 0 .6rem 1rem; }
ol.timeline li::before { content: ""; position: absolute; left: -6px; top: .45rem; width: 10px; height: 10px;
  border-radius: 50%; background: var(--accent); }
ol.timeline time { color: var(--muted); font-size: .85rem; margin-right: .5rem; }
ol.timeline li[data-outcome="requeued"]::before { background: var(--warn); }
ol.timeline li[data-outcome="failed"]::before, ol.timeline li[data-outcome="canceled"]::before { background: var(--bad); }
ol.timeline li[data-kind="progress"]::before { background: var(--line); }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .accepted { fill: var(--accent); }
svg.chart .finished { fill: var(--ok); }
svg.chart .axis { stroke: var(--line); }
svg.chart text { fill: var(--muted); font-size: 10px; }
.legend { display: flex; gap: 1rem; font-size: .85rem; color: var(--muted); }
.legend span::before { content: ""; display: inline-block; width: .7rem; height: .7rem; margin-right: .3rem; border-radius: 2px; vertical-align: -1px; }
.legend .accepted::before { background: var(--accent); }
.legend .finished::before { background: var(--ok); }
.signin { max-width: 26rem; margin: 8vh auto; }
.signin form { display: grid; gap: .8rem; }
.signin label { display: grid; gap: .25rem; }
.confirm { margin-top: .6rem; padding: .6rem; border: 1px dashed var(--line); border-radius: 6px; }
@media (max-width: 600px) {
  main { padding: .6rem; }
  dl.fields { grid-template-columns: 1fr; }
  dl.fields dt { margin-top: .3rem; }
  header.top .who { width: 100%; justify-content: space-between; }
}
`;
