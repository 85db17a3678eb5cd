import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { CLIENT_ERROR_CODES, WEBHOOK_ERROR_CODES } from './errors.js';

const SRC = join(import.meta.dirname, '..');

/** Every module `asyncgate/client` loads, following static imports from its entry. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

test('the client entry loads no server-side module and no package: only node builtins, client/, protocol/', () => {
  const { files, packages } = closure(join(SRC, 'client', 'index.ts'));
  for (const p of packages) assert.match(p, /^node:/, `asyncgate/client imports ${p}`);
  for (const f of files) {
    assert.match(relative(SRC, f), /^(client\/|protocol\/)/, `asyncgate/client loads ${relative(SRC, f)}`);
  }
  assert.ok(files.size > 8, 'the walk followed the imports');
});

test('every client error code is documented in docs/reference/errors.md (codes are API)', () => {
  const doc = readFileSync(join(SRC, '..', 'docs', 'reference', 'errors.md'), 'utf8');
  const codes = [...CLIENT_ERROR_CODES, ...WEBHOOK_ERROR_CODES];
  assert.equal(codes.length, 11);
  for (const code of codes) assert.match(doc, new RegExp(`\\| \`${code}\` \\|`), `${code} is not in docs/reference/errors.md`);
});
