/** The admin CLI against a real gateway on PostgreSQL (the suite: test/helpers/cli-admin-suite.ts). */
import { after } from 'node:test';
import { adminCliSuite } from './helpers/cli-admin-suite.js';
import { dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from './helpers/postgres.js';

const schemas: string[] = [];
adminCliSuite('PostgreSQL', async () => {
  if (!(await postgresAvailable())) return undefined;
  const schema = uniqueSchema('cli_admin');
  schemas.push(schema);
  return schemaUrl(schema);
});
after(() => dropSchemas(schemas));
