/**
 * The example commands (examples/mod_echo/component.ts, examples/mod_cputime/component.ts) as a user
 * runs them: the built JavaScript (`npm run build`), started with node and `--host --port --domain
 * --secret`, against Prosody.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../../../test/server/raw-client.js';
import { Prosody, requireProsody } from './prosody.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The built command (`npm run build`, which `npm test` runs first): what a user runs. */
function built(entry: string): string {
  const file = join(ROOT, entry.replace(/([^/]+)\.ts$/, 'dist/$1.js'));
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return file;
}

describe('the example component commands, on Prosody', () => {
  let prosody: Prosody;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    requireProsody();
    dir = mkdtempSync(join(tmpdir(), 'tsjabberd-component-example-'));
    prosody = await Prosody.start({
      components: { 'echo.localhost': 's3cret', 'cputime.localhost': 'cpu' },
      users: [['bob', 'builder']],
    });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGTERM');
    await prosody?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(entry: string, domain: string, secret: string, extra: string[] = []): Promise<string[]> {
    const file = built(entry);
    const args = [file, '--host', '127.0.0.1', '--port', String(prosody.componentPort)];
    const child = spawn(process.execPath, [...args, '--domain', domain, '--secret', secret, ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TSJABBERD_LOG: 'warning' },
    });
    children.push(child);
    const lines: string[] = [];
    child.stdout?.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)));
    child.stderr?.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)));
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('online')) && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return lines;
  }

  it('echo.localhost and cputime.localhost answer a Prosody client', async () => {
    expect(await run('examples/mod_echo/component.ts', 'echo.localhost', 's3cret')).toContain(
      `echo.localhost: online at 127.0.0.1:${prosody.componentPort}`,
    );
    expect((await run('examples/mod_cputime/component.ts', 'cputime.localhost', 'cpu')).join('\n')).toContain(
      'cputime.localhost: online',
    );
    const client = await RawClient.connect(prosody.c2sPort);
    try {
      await client.login('bob', 'builder', 'laptop', 'PLAIN', false);
      let mark = client.elements.length;
      client.write(`<message to='echo.localhost' id='e1'><body>ping</body></message>`);
      const echo = await client.until(
        () => client.elements.slice(mark).find((e) => e[1] === 'message'),
        'the echo',
      );
      expect(get_attr_s('from', echo[2])).toBe('echo.localhost');
      mark = client.elements.length;
      client.write(`<iq type='get' id='c1' to='cputime.localhost'><query xmlns='ejabberd:cputime'/></iq>`);
      const iq = await client.until(
        () => client.elements.slice(mark).find((e) => get_attr_s('id', e[2]) === 'c1'),
        'the cputime result',
      );
      expect(get_attr_s('type', iq[2])).toBe('result');
      expect(JSON.stringify(iq[3][0] as XmlElement)).toContain('cputime');
    } finally {
      client.close();
    }
  });

  it('exits with an error for a wrong secret', async () => {
    const lines = await run('examples/mod_echo/component.ts', 'echo.localhost', 'nope');
    const child = children[children.length - 1];
    const code = child.exitCode ?? (await new Promise((r) => child.once('exit', r)));
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('not-authorized');
  });
});
