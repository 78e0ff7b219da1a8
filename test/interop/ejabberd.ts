/**
 * A throwaway ejabberd (Debian's package, `ejabberdctl` on the PATH) for interop tests: free ports, a
 * config rendered into a fresh temporary directory (nothing under /etc is read or written but the
 * package's inetrc, copied), its own node name and cookie, accounts registered through ejabberdctl.
 * As root, ejabberdctl runs as the package's `ejabberd` user through setpriv (as bench/load's
 * servers/ejabberd.sh does), and the directory is chowned to it.
 *
 * Never skips: when ejabberd is missing or does not start, `startEjabberd` throws saying why (.ci/run
 * installs the package).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface CtlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Ejabberd {
  /** The c2s port (plain TCP, no STARTTLS). */
  c2sPort: number;
  /** The ejabberd_http port: `/api` is mod_http_api, `/xmlrpc` ejabberd_xmlrpc. */
  httpPort: number;
  /** The Erlang node name. */
  node: string;
  dir: string;
  /** `ejabberdctl ARGS...` against this node. */
  ctl(...argv: string[]): Promise<CtlRun>;
  /** Stops the node (killing it if it does not stop) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EjabberdOptions {
  /** Accounts on `localhost`: [user, password]. */
  accounts?: [string, string][];
  /** The `acl:` block's entries (YAML, indented by 2), added to the config. */
  acl?: string;
  /** The whole `api_permissions:` block (YAML), or '' for none (ejabberd's built-in default). */
  apiPermissions?: string;
  /** Extra modules (YAML lines indented by 2) after mod_admin_extra, mod_last, mod_offline, mod_roster. */
  modules?: string;
}

/** ejabberd's example `api_permissions`: everything from ejabberdctl, and all but start/stop for acl admin. */
export const ADMIN_API_PERMISSIONS = `api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
  "admin access":
    who:
      acl: admin
    what:
      - "*"
      - "!stop"
      - "!start"
`;

/** A TCP port free on 127.0.0.1 just now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    if (dir !== '' && existsSync(p)) return p;
  }
  return undefined;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeout = 60_000): Promise<CtlRun> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({
        code,
        stdout,
        stderr: error !== null && typeof error.code !== 'number' ? `${stderr}${error.message}` : stderr,
      });
    });
  });
}

function render(o: EjabberdOptions, c2sPort: number, httpPort: number): string {
  return `hosts:
  - localhost
loglevel: info
log_rotate_count: 0
listen:
  -
    port: ${c2sPort}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    access: c2s
  -
    port: ${httpPort}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      "/api": mod_http_api
      "/xmlrpc": ejabberd_xmlrpc
auth_method: internal
auth_password_format: plain
acl:
  local:
    user_regexp: ""
  loopback:
    ip:
      - 127.0.0.0/8
${o.acl ?? ''}access_rules:
  c2s:
    allow: all
  local:
    allow: local
${o.apiPermissions ?? ADMIN_API_PERMISSIONS}
modules:
  mod_admin_extra: {}
  mod_last: {}
  mod_offline: {}
  mod_roster: {}
${o.modules ?? ''}`;
}

/** Starts ejabberd on fresh ports in a fresh directory and registers `accounts`; throws when it cannot. */
export async function startEjabberd(options: EjabberdOptions = {}): Promise<Ejabberd> {
  const ejabberdctl = which('ejabberdctl');
  if (ejabberdctl === undefined) {
    throw new Error(
      "ejabberd is not installed (no ejabberdctl on the PATH): install Debian's package, " +
        '`apt-get install -y --no-install-recommends ejabberd` (.ci/run does)',
    );
  }
  const root = process.getuid?.() === 0;
  const [c2sPort, httpPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsjabberd-ejabberd-'));
  const tag = randomBytes(4).toString('hex');
  const node = `tsjint${tag}@localhost`;
  mkdirSync(path.join(dir, 'spool'));
  mkdirSync(path.join(dir, 'logs'));
  writeFileSync(path.join(dir, 'ejabberd.yml'), render(options, c2sPort, httpPort));
  writeFileSync(
    path.join(dir, 'ejabberdctl.cfg'),
    `ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie c${tag}"\nINET_DIST_INTERFACE=127.0.0.1\n` +
      `ERL_EPMD_ADDRESS=127.0.0.1\nEJABBERD_PID_PATH=${dir}/ejabberd.pid\nEJABBERD_BYPASS_WARNINGS=true\n`,
  );
  if (existsSync('/etc/ejabberd/inetrc')) copyFileSync('/etc/ejabberd/inetrc', path.join(dir, 'inetrc'));
  let uid = -1;
  let gid = -1;
  if (root) {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('ejabberd:'));
    if (line === undefined)
      throw new Error('ejabberd is installed but there is no ejabberd user to run it as');
    const fields = line.split(':');
    uid = Number(fields[2]);
    gid = Number(fields[3]);
    for (const f of ['', 'spool', 'logs', 'ejabberd.yml', 'ejabberdctl.cfg', 'inetrc']) {
      const p = path.join(dir, f);
      if (existsSync(p)) chownSync(p, uid, gid);
    }
  }
  const env = { ...process.env, HOME: dir };
  const base = [
    '--config-dir',
    dir,
    '--ctl-config',
    path.join(dir, 'ejabberdctl.cfg'),
    '--config',
    path.join(dir, 'ejabberd.yml'),
    '--spool',
    path.join(dir, 'spool'),
    '--logs',
    path.join(dir, 'logs'),
    '--node',
    node,
  ];
  const ctl = (...argv: string[]): Promise<CtlRun> =>
    root
      ? run(
          'setpriv',
          [
            '--reuid',
            String(uid),
            '--regid',
            String(gid),
            '--init-groups',
            '--',
            'env',
            `HOME=${dir}`,
            ejabberdctl,
            ...base,
            ...argv,
          ],
          env,
        )
      : run(ejabberdctl, [...base, ...argv], env);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pidFile = path.join(dir, 'ejabberd.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
    const alive = (): boolean => {
      if (!(pid > 0)) return false;
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (alive()) {
      await ctl('stop');
      const deadline = Date.now() + 15_000;
      while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // The node this harness started (its pid file names it), if it did not stop.
      if (alive()) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const logTail = (): string => {
    const log = path.join(dir, 'logs', 'ejabberd.log');
    const errors = path.join(dir, 'logs', 'error.log');
    const text = [log, errors].filter(existsSync).map((f) => readFileSync(f, 'utf8'));
    return text.join('\n').split('\n').slice(-40).join('\n');
  };
  try {
    const started = await ctl('start');
    if (started.code !== 0)
      throw new Error(`ejabberdctl start exited ${started.code}: ${started.stdout}${started.stderr}`);
    // What `ejabberdctl started` does (poll `status` until it exits 0), but every 250 ms rather than 2 s,
    // and giving up at once when ejabberd logs that it failed to start (rather than after 60 s).
    const deadline = Date.now() + 40_000;
    for (;;) {
      const status = await ctl('status');
      if (status.code === 0) break;
      if (/Failed to start ejabberd application/.test(logTail())) throw new Error('ejabberd failed to start');
      if (Date.now() > deadline) {
        throw new Error(
          `not started after 40 s; ejabberdctl status exited ${status.code}: ${status.stdout}${status.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const registered = await Promise.all(
      (options.accounts ?? []).map(([u, p]) => ctl('register', u, 'localhost', p)),
    );
    for (const [i, r] of registered.entries()) {
      if (r.code !== 0)
        throw new Error(`ejabberdctl register ${options.accounts?.[i]?.[0]}: ${r.stdout}${r.stderr}`);
    }
  } catch (error) {
    const tail = logTail();
    await stop();
    throw new Error(
      `ejabberd did not start (node ${node}, dir ${dir}): ${(error as Error).message}\n${tail}`,
    );
  }
  return { c2sPort, httpPort, node, dir, ctl, stop };
}
