/** The parts of the SDK that need no XMPP server: the handshake digest, backoff, offline bounces. */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Component, handshake_digest } from '../src/index.js';
import { freePort } from './prosody.js';

describe('Component without a server', () => {
  it('computes the XEP-0114 handshake as hex SHA-1 of stream id + secret', () => {
    expect(handshake_digest('3BF96D32', 'sesame')).toBe(
      createHash('sha1').update('3BF96D32sesame').digest('hex'),
    );
    expect(handshake_digest('id', 'secret')).toMatch(/^[0-9a-f]{40}$/);
  });

  it('backs off exponentially, bounded, with jitter, while the port refuses; stop() ends it', async () => {
    const port = await freePort();
    const c = new Component({
      host: '127.0.0.1',
      port,
      domain: 'x.localhost',
      secret: 's',
      backoffMin: 10,
      backoffMax: 80,
      jitter: 0.5,
    });
    const delays: number[] = [];
    c.on('reconnecting', (d) => delays.push(d));
    c.on('error', () => {});
    c.start().catch(() => {});
    while (delays.length < 6) await new Promise((r) => setTimeout(r, 10));
    await c.stop();
    const n = delays.length;
    // attempt k waits min * 2^k (capped at max), times a factor in [0.5, 1]
    const bases = [10, 20, 40, 80, 80, 80];
    delays.slice(0, 6).forEach((d, k) => {
      expect(d).toBeLessThanOrEqual(bases[k]);
      expect(d).toBeGreaterThanOrEqual(bases[k] / 2);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(delays.length).toBe(n);
  });

  it('rejects start() when the first attempt fails and reconnect is off', async () => {
    const c = new Component({
      host: '127.0.0.1',
      port: await freePort(),
      domain: 'x',
      secret: 's',
      reconnect: false,
    });
    c.on('error', () => {});
    await expect(c.start()).rejects.toThrow();
  });

  it('reports a conflict stream error with its condition', async () => {
    const server: Server = createServer((socket) => {
      socket.once('data', () => {
        socket.write(
          "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='abc'>",
        );
        socket.once('data', () =>
          socket.end(
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>already connected</text></stream:error></stream:stream>",
          ),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const c = new Component({ host: '127.0.0.1', port, domain: 'x.localhost', secret: 's' });
    c.on('error', () => {});
    await expect(c.start()).rejects.toMatchObject({
      condition: 'conflict',
      message: expect.stringContaining('already connected'),
    });
    server.close();
  });
});
