/** The admin CLI against a real gateway on SQLite (the suite: test/helpers/cli-admin-suite.ts). */
import { join } from 'node:path';
import { adminCliSuite } from './helpers/cli-admin-suite.js';
import { tempDir } from './helpers/gateway-process.js';

adminCliSuite('SQLite', async () => `sqlite:${join(tempDir(), 'cli-admin.db')}`);
