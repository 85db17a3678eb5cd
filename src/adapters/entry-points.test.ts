/**
 * Each adapter entry point loads only its own framework: the import graph of the built `dist/adapters/<x>.js`
 * (what `asyncgate/<x>` resolves to) is walked, and the packages it reaches are checked. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

const DIST = join(import.meta.dirname, '..', '..', 'dist');
const FRAMEWORKS = ['express', 'fastify', 'hono', '@hono/node-server'];

/** Bare specifiers (packages) reachable through static and dynamic imports from `entry`. */
function packagesReached(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return packages;
}

const own: Record<string, string[]> = { node: [], express: [], fastify: [], hono: ['@hono/node-server'] }; // hono itself only as types

for (const [adapter, allowed] of Object.entries(own)) {
  test(`asyncgate/${adapter} loads no other framework`, () => {
    const reached = packagesReached(join(DIST, 'adapters', `${adapter}.js`));
    assert.ok(reached.has('better-sqlite3'), 'the walk reaches the store (sanity check of the walk itself)');
    const frameworks = FRAMEWORKS.filter((f) => reached.has(f));
    assert.deepEqual(frameworks, allowed);
  });
}

test('package.json exports each adapter, types first', () => {
  const pkg = JSON.parse(readFileSync(join(DIST, '..', 'package.json'), 'utf8')) as {
    exports: Record<string, Record<string, string>>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
  };
  for (const adapter of Object.keys(own)) {
    const entry = pkg.exports[`./${adapter}`]!;
    assert.deepEqual(Object.keys(entry), ['types', 'default']);
    assert.equal(entry.default, `./dist/adapters/${adapter}.js`);
  }
  for (const f of FRAMEWORKS) assert.equal(pkg.peerDependenciesMeta[f]?.optional, true, `${f} is an optional peer`);
});
