import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { client } from '@xmpp/client';
import { afterEach, describe, expect, it } from 'vitest';

process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
const CLI = path.resolve(import.meta.dirname, '../../packages/server/dist/cli.js');
const run = promisify(execFile);

interface Running {
  child: ChildProcess;
  output: () => string;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsjabberd-cli-'));
  dirs.push(dir);
  return dir;
}

/** `tsjabberd start` in `cwd`, resolved once it says it is running. */
async function start(cwd: string, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'start', ...args], { cwd, env: process.env });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 20_000;
  while (!out.includes('tsjabberd is running')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out };
}

function cli(cwd: string, ...args: string[]) {
  return run(process.execPath, [CLI, ...args], { cwd, env: process.env });
}

async function login(port: number, username: string, password: string): Promise<string> {
  const c = client({
    service: `xmpp://127.0.0.1:${port}`,
    domain: 'localhost',
    username,
    password,
    resource: 'test',
  });
  c.on('error', () => {});
  await c.start();
  const jid = c.jid?.toString() ?? '';
  await c.stop();
  return jid;
}

async function stopped(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('the tsjabberd command', () => {
  it('starts on embedded defaults in an empty directory, registers a user, accepts a login, stops on SIGTERM', async () => {
    const dir = tempDir();
    const server = await start(dir);
    expect(server.output()).toContain('(embedded defaults)');
    expect(server.output()).toContain(path.join('data', 'cert.pem'));
    const registered = await cli(dir, 'register', 'alice', 'localhost', 'secret');
    expect(registered.stdout).toBe('User alice@localhost registered\n');
    expect(await login(5222, 'alice', 'secret')).toBe('alice@localhost/test');
    const status = await cli(dir, 'status');
    expect(status.stdout).toContain('tsjabberd is running');
    server.child.kill('SIGTERM');
    expect(await stopped(server.child)).toBe(0);
    await expect(cli(dir, 'status')).rejects.toMatchObject({ code: 3 });
  });

  it('tsjabberd ctl stop stops the running server: the process exits 0 and status then exits 3', async () => {
    const dir = tempDir();
    const server = await start(dir);
    const stopped_ = await cli(dir, 'ctl', 'stop');
    expect(stopped_.stdout).toBe('');
    expect(await stopped(server.child)).toBe(0);
    expect(server.output()).toContain('command stop');
    await expect(cli(dir, 'status')).rejects.toMatchObject({ code: 3 });
  });

  it('keeps accounts across a restart and across kill -9', async () => {
    const dir = tempDir();
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const config = path.join(dir, 'tsjabberd.yml');
    writeFileSync(
      config,
      `hosts:\n  - localhost\ndata_dir: ${JSON.stringify(path.join(dir, 'data'))}\nlisten:\n  - port: ${port}\n    ip: 127.0.0.1\n    module: ejabberd_c2s\nmodules:\n  mod_disco: {}\n`,
    );
    // Registered while the server is not running: straight into the database.
    expect((await cli(dir, 'register', 'bob', 'localhost', 'builder', '--config', config)).stdout).toContain(
      'registered',
    );
    let server = await start(dir, ['--config', config]);
    // Registered through the running server, then the process is killed without warning.
    expect((await cli(dir, 'register', 'carol', 'localhost', 'pw', '--config', config)).stdout).toContain(
      'registered',
    );
    server.child.kill('SIGKILL');
    await stopped(server.child);
    server = await start(dir, ['--config', config]);
    expect(await login(port, 'bob', 'builder')).toBe('bob@localhost/test');
    expect(await login(port, 'carol', 'pw')).toBe('carol@localhost/test');
    // A clean restart keeps them too; an unregistered user is gone.
    expect((await cli(dir, 'unregister', 'bob', 'localhost', '--config', config)).stdout).toContain(
      'unregistered',
    );
    server.child.kill('SIGTERM');
    expect(await stopped(server.child)).toBe(0);
    server = await start(dir, ['--config', config]);
    expect(await login(port, 'carol', 'pw')).toBe('carol@localhost/test');
    await expect(login(port, 'bob', 'builder')).rejects.toThrow(/not-authorized/);
    server.child.kill('SIGTERM');
    expect(await stopped(server.child)).toBe(0);
  });

  it('refuses a bad config with the key and the line', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'bad.yml');
    writeFileSync(config, 'hosts:\n  - localhost\nlisten:\n  - port: nope\n    module: ejabberd_c2s\n');
    const error = await cli(dir, 'start', '--config', config).catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toMatch(/bad\.yml:4:\d+: listen\[0\]\.port/);
  });
});
