// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by area (asyncgate's own
// files, each npm package, Node's internals, GC, idle).
//
//   node bench/cpuprofile-top.mjs FILE.cpuprofile [N]
//
// Also importable: summarise(profile, n) returns { totalMs, functions, areas }.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function area(url, name) {
  if (!url) {
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') return name;
    return '(native)';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node internals';
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return `asyncgate ${url.slice(dist + '/dist/'.length).split('/')[0]}/`;
  return url;
}

function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

export function summarise(profile, n = 15) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the gap after a sample to it (V8's convention).
    const dt = timeDeltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const fns = new Map();
  const areas = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: cf } = byId.get(id);
    const name = cf.functionName || '(anonymous)';
    const key = `${name} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = area(cf.url, cf.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    total += us;
  }
  const busy = total - (areas.get('(idle)') ?? 0);
  const rank = (m) =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .map(([name, us]) => ({ name, ms: us / 1000, pctOfTotal: (100 * us) / total, pctOfBusy: (100 * us) / busy }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions: rank(fns).slice(0, n), areas: rank(areas) };
}

export function formatSummary(s, title = 'CPU profile') {
  const lines = [`${title}: ${s.totalMs.toFixed(0)} ms sampled, ${s.busyMs.toFixed(0)} ms not idle`, ''];
  lines.push('| self time, by area | ms | % of non-idle |', '|---|---:|---:|');
  for (const a of s.areas.filter((x) => x.name !== '(idle)').slice(0, 12)) {
    lines.push(`| ${a.name} | ${a.ms.toFixed(0)} | ${a.pctOfBusy.toFixed(1)} |`);
  }
  lines.push('', '| self time, top functions | ms | % of non-idle |', '|---|---:|---:|');
  for (const f of s.functions.filter((x) => !x.name.startsWith('(idle)'))) {
    lines.push(`| \`${f.name}\` | ${f.ms.toFixed(0)} | ${f.pctOfBusy.toFixed(1)} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')), Number(n ?? 15));
  process.stdout.write(`${formatSummary(s, file)}\n`);
}
