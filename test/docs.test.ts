/**
 * The house rules a reader relies on: the README stays a landing page, every relative link in the docs
 * resolves (files and #anchors), the docs and code cite public sources rather than private ones, and no source
 * or benchmark file grows past 400 lines.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');

function walk(dir: string, keep: (name: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, keep, out);
    else if (keep(name)) out.push(path);
  }
  return out;
}

const markdown = [
  ...['README.md', 'ARCHITECTURE.md', 'BENCHMARKS.md'].map((f) => join(ROOT, f)),
  ...walk(join(ROOT, 'docs'), (n) => n.endsWith('.md')),
  ...walk(join(ROOT, 'bench'), (n) => n.endsWith('.md')),
];

/** GitHub's anchor for a heading: lower-case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = anchor(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown links outside code: `[text](target)`. */
function linksOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

test('the docs exist: README, ARCHITECTURE, docs/ with an index, LICENSE', () => {
  for (const f of ['README.md', 'ARCHITECTURE.md', 'LICENSE', 'docs/README.md', 'docs/reference/errors.md']) assert.ok(existsSync(join(ROOT, f)), f);
  assert.ok(markdown.length >= 10, `${markdown.length} markdown files`);
});

test('the README is a landing page: at most 250 lines', () => {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length;
  assert.ok(lines <= 250, `README.md has ${lines} lines`);
});

test('every relative link in the docs resolves, anchors included', () => {
  const broken: string[] = [];
  for (const file of markdown.filter(existsSync)) {
    for (const link of linksOf(file)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
      const [path, hash] = link.split('#') as [string, string | undefined];
      const target = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      const where = `${relative(ROOT, file)} → ${link}`;
      if (!existsSync(target)) broken.push(`${where} (no such file)`);
      else if (hash && target.endsWith('.md') && !anchorsOf(target).has(hash)) broken.push(`${where} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

test('no references to private documents ("seed 00x", "SPEC §") in src/, the README or docs/', () => {
  const files = [...markdown.filter(existsSync), ...walk(join(ROOT, 'src'), (n) => n.endsWith('.ts'))];
  const found: string[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/\bseeds? ?0\d\d\b|\bseeds\//i.test(line) || /SPEC §|\(SPEC\b|\bSPEC\.md\b/.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});

test('no source or benchmark file passes 400 lines', () => {
  const files = [
    ...walk(join(ROOT, 'src'), (n) => n.endsWith('.ts') && !n.endsWith('.test.ts')),
    ...walk(join(ROOT, 'bench'), (n) => /\.(mjs|js|ts)$/.test(n)),
  ];
  const long = files.map((f) => [relative(ROOT, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 400);
  assert.deepEqual(long, []);
});

test('curl examples in the docs quote their URLs (zsh would take ? for a glob)', () => {
  const unquoted: string[] = [];
  for (const file of markdown.filter(existsSync)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (/^\s*(\$ )?curl /.test(line) && /https?:\/\//.test(line.replace(/'[^']*'|"[^"]*"/g, ''))) unquoted.push(`${relative(ROOT, file)}: ${line.trim()}`);
    }
  }
  assert.deepEqual(unquoted, []);
});
