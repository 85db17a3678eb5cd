// Lint: typescript-eslint's recommended rules, import-x/no-cycle, and the layer rule below: data flows one way,
// so a folder of src/ imports only the folders below it (ARCHITECTURE.md explains each layer).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

/** src/'s layers, top first. A layer may import the layers below it, never one above or a sibling. */
export const LAYERS = [
  ['cli'],
  ['index.ts', 'adapters'],
  ['demo'],
  ['gateway', 'library'],
  ['qstash'],
  ['app'],
  ['dashboard'],
  ['http'],
  ['intake'],
  ['config'],
  ['delivery'],
  ['resource'],
  ['engine'],
  ['telemetry'],
  ['store'],
  ['errors'],
  ['protocol', 'shared', 'model.ts'],
];
/** `asyncgate/client` ships on its own: it imports protocol/ and nothing else of ours. */
const CLIENT_MAY_IMPORT = ['client', 'protocol'];

const src = (name) => `./src/${name}`;
const everyFolder = LAYERS.flat().concat('client');
const layerZones = LAYERS.flatMap((layer, i) =>
  layer.map((name) => ({
    target: src(name),
    from: LAYERS.slice(0, i + 1).flat().filter((other) => other !== name).concat('client').map(src),
    message: `src/${name} is in layer ${i} (eslint.config.js LAYERS): it may import only layers below it.`,
  })),
)
  .map((zone) => (zone.target === src('cli') ? { ...zone, from: zone.from.filter((f) => f !== src('client')) } : zone))
  .filter((zone) => zone.from.length > 0);
const clientZone = {
  target: src('client'),
  from: everyFolder.filter((name) => !CLIENT_MAY_IMPORT.includes(name)).map(src),
  message: 'asyncgate/client ships on its own: it may import only protocol/.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/node_modules/**', 'coverage/**', '.build-*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-unresolved': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/index.js', '../index.js', './index.js'], message: 'Never import the package index from inside the package.' }] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/*.contract.ts', 'src/testing/**'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: [...layerZones, clientZone] }] },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'protocol/ is pure: it imports nothing of ours.' }] }],
    },
  },
  {
    files: ['bench/**/*.{js,mjs}', 'scripts/**/*.mjs', '*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', URL: 'readonly', Buffer: 'readonly', performance: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
  },
);
