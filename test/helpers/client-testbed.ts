import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayProcess, tempDir } from './gateway-process.js';
import { Receiver } from './receiver.js';
import { TestUpstream } from './upstream.js';

/**
 * What the client and `asyncgate fetch` tests run against: the real gateway process in front of a real upstream,
 * callbacks allowed to a real receiver on loopback, and `GET /hang` failing fast (1 s timeout, no retry) so a job
 * can fail without a response.
 */
export class ClientTestbed {
  readonly upstream = new TestUpstream();
  readonly receiver = new Receiver();
  gw!: GatewayProcess;

  async start(extraArgs: string[] = []): Promise<this> {
    await this.upstream.start();
    await this.receiver.start();
    const dir = tempDir();
    const config = join(dir, 'client.config.json');
    writeFileSync(config, JSON.stringify({ callbacks: { allowHosts: ['127.0.0.1'] }, routes: [{ match: 'GET /hang', timeout: '1s', retry: { attempts: 1 } }] }));
    this.gw = await new GatewayProcess(['--upstream', this.upstream.url, '--db', `sqlite:${join(dir, 'client.db')}`, '--config', config, ...extraArgs]).start();
    return this;
  }

  async stop(): Promise<void> {
    await this.gw.stop();
    await this.upstream.close();
    await this.receiver.close();
  }
}
