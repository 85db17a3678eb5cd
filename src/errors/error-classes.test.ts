import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '..');
const doc = readFileSync(join(SRC, '..', 'docs', 'reference', 'errors.md'), 'utf8');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.contract.ts')) out.push(path);
  }
  return out;
}

/** Each Error class in src/ with the code it carries: `readonly code = '…'`, `get code()`, or `super('…'` of a coded base. */
function errorClasses(): Array<{ file: string; name: string; codes: string[] }> {
  const found = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^export class (\w+) extends (\w*Error)\b[^{]*\{([\s\S]*?)^\}/gm)) {
      const body = m[3]!;
      const codes = [...body.matchAll(/readonly code = '([^']+)'|super\('([^']+)'/g)].map((c) => c[1] ?? c[2]!);
      if (/readonly code = SSRF_ERROR_CODE/.test(body)) codes.push(/SSRF_ERROR_CODE = '([^']+)'/.exec(text)![1]!);
      if (/get code\(\)|readonly code: \w+Code\b/.test(body)) codes.push('(typed)');
      found.push({ file: relative(SRC, file), name: m[1]!, codes });
    }
  }
  return found;
}

test('every Error class carries a stable code, spelled like every other, and documented', () => {
  const classes = errorClasses();
  assert.ok(classes.length >= 15, `found ${classes.length} Error classes`);
  for (const { file, name, codes } of classes) {
    assert.ok(codes.length > 0, `${file}: ${name} carries no code`);
    for (const code of codes.filter((c) => c !== '(typed)')) {
      assert.match(code, /^[a-z]+(-[a-z0-9]+)*$/, `${name}: "${code}"`);
      assert.match(doc, new RegExp(`\\| \`${code}\` \\|`), `${name}'s code ${code} is not in docs/reference/errors.md`);
    }
  }
});
