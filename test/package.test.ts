/**
 * The published package as a user gets it: `npm pack` of the built dist/, installed into an empty project,
 * runs `asyncgate --help`. The tarball ships what it needs (LICENSE, README, the CLI, the types) and
 * nothing that points elsewhere (source maps of a src/ it does not ship) or that is not for users (tests).
 *
 * The install skips install scripts: better-sqlite3's would compile its addon from source (about 2 minutes
 * on a busy 2-core machine, past the runner's 120 s per file) when no prebuilt binary can be fetched. --help
 * does not need the addon: the CLI imports better-sqlite3's JavaScript, which loads the addon only when a
 * database is opened.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
/** What the tarball must contain for the package to work (its `bin`, its types) and to be distributable. */
const REQUIRED = ['LICENSE', 'README.md', 'ARCHITECTURE.md', 'docs/README.md', 'package.json', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts'];
const NPM_TIMEOUT_MS = 50_000; // each npm call; the runner gives a whole file 120 s

/**
 * The environment for a nested npm: none of the npm_* variables of an enclosing `npm test`
 * (npm_config_local_prefix would point the install back at this repository, npm_config_build_from_source
 * would ask for a compile).
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_UPDATE_NOTIFIER: '1' };
}

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', timeout: NPM_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
}

const describe = (r: SpawnSyncReturns<string>) =>
  `exit ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n--- stdout\n${r.stdout?.slice(-4000)}\n--- stderr\n${r.stderr?.slice(-4000)}`;

let work: string;
let tarball: string;
let files: string[];

before(() => {
  const missing = ['dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts'].filter((f) => !existsSync(join(ROOT, f)));
  if (missing.length) throw new Error(`${missing.join(', ')} missing: build first ("npm run build"; "npm test" builds before testing)`);
  work = mkdtempSync(join(tmpdir(), 'asyncgate-pack-'));
  const r = npm(['pack', '--json', '--pack-destination', work], ROOT);
  assert.equal(r.status, 0, `npm pack failed: ${describe(r)}`);
  const [info] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(info, `npm pack printed no package: ${r.stdout}`);
  tarball = join(work, info.filename);
  assert.ok(existsSync(tarball), `npm pack reported ${info.filename}, not found in ${work}`);
  files = info.files.map((f) => f.path);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball has the license, the readme, the CLI and the types', () => {
  for (const f of REQUIRED) assert.ok(files.includes(f), `${f} is not in the tarball`);
});

test('the tarball has no source maps and no tests', () => {
  assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'source maps point at src/, which is not shipped');
  assert.deepEqual(files.filter((f) => f.includes('.test.')), [], 'test files are not for users');
  assert.deepEqual(files.filter((f) => !f.startsWith('dist/') && !f.startsWith('docs/') && !['LICENSE', 'README.md', 'ARCHITECTURE.md', 'BENCHMARKS.md', 'package.json'].includes(f)), []);
});

test("the README's links into the package resolve in the tarball (the docs ship with it)", () => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const local = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
  assert.ok(local.length >= 5, 'the README links into docs/');
  for (const link of local) assert.ok(files.includes(link), `README links ${link}, which the tarball lacks`);
});

test('installed into an empty project, `npx asyncgate --help` prints the usage', { timeout: 110_000 }, () => {
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'asyncgate-pack-check', version: '0.0.0', private: true }, null, 2)}\n`);
  const install = ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', tarball];
  // From the npm cache when it has every dependency; from the registry when it lacks one.
  let r = npm([...install, '--offline'], project);
  if (r.status !== 0) r = npm(install, project);
  assert.equal(r.status, 0, `npm install of the tarball failed: ${describe(r)}`);
  assert.ok(existsSync(join(project, 'node_modules', '.bin', 'asyncgate')), 'the package is installed with its bin');

  // --no: run the installed bin or fail; never fetch a package of that name.
  const help = spawnSync('npx', ['--no', '--', 'asyncgate', '--help'], { cwd: project, env: npmEnv(), encoding: 'utf8', timeout: 30_000 });
  assert.equal(help.status, 0, `asyncgate --help: ${describe(help)}`);
  assert.match(help.stdout, /^Usage: asyncgate <command> \[options\]/);
  assert.match(help.stdout, /serve\s+run the gateway/);
});
