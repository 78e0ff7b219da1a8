/**
 * ejabberd_http: an HTTP(S) listener dispatching requests to its `request_handlers` by path prefix
 * (the longest matching path wins); anything else gets 404.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { HttpListenerConfig } from '../config/types.js';
import type { HttpHandler } from './mod_http_api.js';

export function httpServer(
  listener: HttpListenerConfig,
  handlers: Record<string, HttpHandler>,
  tls: { cert: string; key: string } | undefined,
): Server {
  const paths = Object.keys(handlers).sort((a, b) => b.length - a.length);
  const onRequest: Parameters<typeof createHttpServer>[1] = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    for (const prefix of paths) {
      const base = prefix === '/' ? '' : prefix;
      // The handler's own path counts too: `ServerProxy('http://host:5280/xmlrpc')` posts to /xmlrpc.
      if (path === base || path.startsWith(`${base}/`)) {
        let command: string;
        try {
          command = decodeURIComponent(path.slice(base.length + 1));
        } catch {
          command = path.slice(base.length + 1);
        }
        handlers[prefix](req, res, command);
        return;
      }
    }
    req.resume();
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found');
  };
  return listener.tls
    ? (createHttpsServer({ cert: tls?.cert, key: tls?.key }, onRequest) as unknown as Server)
    : createHttpServer(onRequest);
}
