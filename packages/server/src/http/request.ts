/**
 * What every ejabberd_http request handler needs from a request: its body read under a size limit,
 * and the account named by credentials (HTTP Basic, a bearer token, or XML-RPC's auth struct).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nameprep, nodeprep } from '@tsjabberd/jid';
import type { EjabberdAuth } from '../auth/ejabberd_auth.js';
import type { Caller } from '../commands/api_permissions.js';
import type { ServerConfig } from '../config/types.js';

/** The body as text, `too_large` once it passed `max` bytes, or `aborted` when the client went away. */
export function readBody(req: IncomingMessage, max: number): Promise<string | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.pause();
      resolve('too_large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        req.pause();
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => resolve('aborted'));
    req.on('aborted', () => resolve('aborted'));
  });
}

/** Ends a response to an oversized request and drops the connection once it is sent (the rest is unread). */
export function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  res.on('finish', () => req.destroy());
}

/** The prepared account of `user@server` with `password` on one of our hosts, else undefined. */
export async function checkCredentials(
  config: ServerConfig,
  auth: EjabberdAuth,
  user: string,
  server: string,
  password: string,
): Promise<Caller['user']> {
  const luser = nodeprep(user);
  const lserver = nameprep(server);
  if (luser === 'error' || luser === '' || lserver === 'error' || !config.hosts.includes(lserver))
    return undefined;
  if (!(await auth.check_password(luser, lserver, password))) return undefined;
  return { luser, lserver };
}

/** `user@host` split at its last `@`; undefined without one. */
export function splitJid(jid: string): [string, string] | undefined {
  const at = jid.lastIndexOf('@');
  return at <= 0 ? undefined : [jid.slice(0, at), jid.slice(at + 1)];
}

/** The peer address without the IPv4-mapped prefix Node gives dual-stack sockets. */
export function peerIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
