import { error_condition } from '@tsjabberd/router';
import { element_to_string, get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceListenerDefaults } from '../../packages/server/src/config/defaults.js';
import type { ServerConfig, ServiceListenerConfig } from '../../packages/server/src/config/types.js';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';
import { RawComponent } from './raw-component.js';

const servers: TestServer[] = [];
const sockets: { close(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const s of servers.splice(0)) await s.stop();
});

/** A test server with an ejabberd_service listener (its port is `componentPort`). */
async function server(
  change: (l: ServiceListenerConfig, c: ServerConfig) => void = () => {},
): Promise<TestServer & { componentPort: number }> {
  const t = await startTestServer((c) => {
    const listener: ServiceListenerConfig = {
      port: 0,
      ...serviceListenerDefaults(),
      ip: '127.0.0.1',
      hosts: { 'echo.localhost': 'secret' },
    };
    change(listener, c);
    c.listen.push(listener);
  });
  servers.push(t);
  const bound = t.server.listeners.find((l) => l.config.module === 'ejabberd_service');
  return { ...t, stop: t.stop, componentPort: bound?.port ?? 0 };
}

async function component(port: number, domain = 'echo.localhost', secret = 'secret'): Promise<RawComponent> {
  const c = await RawComponent.login(port, domain, secret);
  sockets.push(c);
  return c;
}

async function rawComponent(port: number): Promise<RawComponent> {
  const c = await RawComponent.connect(port);
  sockets.push(c);
  return c;
}

async function client(port: number, user: string, password: string, resource: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  sockets.push(c);
  await c.login(user, password, resource);
  return c;
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el[3].find((c): c is XmlElement => c[0] === 'xmlelement' && c[1] === name);
}

function bodyOf(el: XmlElement): string {
  const body = child(el, 'body');
  return body === undefined ? '' : body[3].map((c) => (c[0] === 'xmlcdata' ? c[1] : '')).join('');
}

describe('ejabberd_service: the XEP-0114 handshake', () => {
  it('answers the stream header with an id and its domain, accepts the right handshake, routes the domain', async () => {
    const t = await server();
    const c = await rawComponent(t.componentPort);
    c.open('echo.localhost');
    const id = await c.streamId();
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(get_attr_s('from', c.header?.[1] ?? [])).toBe('echo.localhost');
    expect(get_attr_s('xmlns', c.header?.[1] ?? [])).toBe('jabber:component:accept');
    expect(await c.handshake('secret')).toBe('handshake');
    expect(t.server.node.ejabberd_router.is_my_route('echo.localhost')).toBe(true);
    expect(
      t.log.lines.some((l) => l.includes('echo.localhost (127.0.0.1:') && l.includes('authenticated')),
    ).toBe(true);
  });

  it('a wrong secret is not-authorized and routes nothing', async () => {
    const t = await server();
    const c = await rawComponent(t.componentPort);
    c.open('echo.localhost');
    expect(await c.handshake('guess')).toBe('not-authorized');
    await c.until(() => c.closed, 'the connection to close');
    expect(t.server.node.ejabberd_router.is_my_route('echo.localhost')).toBe(false);
  });

  it('an unconfigured domain is host-unknown; a served host is conflict; another namespace is invalid-namespace', async () => {
    const t = await server();
    const unknown = await rawComponent(t.componentPort);
    unknown.open('nope.localhost');
    expect(await unknown.streamError()).toBe('host-unknown');
    const served = await rawComponent(t.componentPort);
    served.open('localhost');
    expect(await served.streamError()).toBe('conflict');
    const wrongNs = await rawComponent(t.componentPort);
    wrongNs.open('echo.localhost', 'jabber:client');
    expect(await wrongNs.streamError()).toBe('invalid-namespace');
  });

  it('a second connection for a connected domain is conflict; the first keeps the route', async () => {
    const t = await server();
    const first = await component(t.componentPort);
    const second = await rawComponent(t.componentPort);
    second.open('echo.localhost');
    expect(await second.streamError()).toBe('conflict');
    expect(first.closed).toBe(false);
    expect(t.server.node.ejabberd_router.is_my_route('echo.localhost')).toBe(true);
  });

  it('two components racing for one domain: exactly one gets it, the other conflict', async () => {
    const t = await server();
    const a = await rawComponent(t.componentPort);
    const b = await rawComponent(t.componentPort);
    a.open('echo.localhost');
    b.open('echo.localhost');
    await Promise.all([a.streamId(), b.streamId()]);
    const outcomes = await Promise.all([a.handshake('secret'), b.handshake('secret')]);
    expect(outcomes.sort()).toEqual(['conflict', 'handshake']);
    expect(t.server.node.ejabberd_router.is_my_route('echo.localhost')).toBe(true);
  });

  it('without hosts, the listener password admits any domain (ejabberd global password)', async () => {
    const t = await server((l) => {
      l.hosts = {};
      l.password = 'shared';
    });
    await component(t.componentPort, 'anything.localhost', 'shared');
    expect(t.server.node.ejabberd_router.is_my_route('anything.localhost')).toBe(true);
  });

  it('a handshake that never comes ends with connection-timeout', async () => {
    const t = await server((l) => {
      l.negotiation_timeout = 0.3;
    });
    const c = await rawComponent(t.componentPort);
    c.open('echo.localhost');
    expect(await c.streamError()).toBe('connection-timeout');
  });

  it('a stanza over max_stanza_size is a stream error', async () => {
    const t = await server((l) => {
      l.max_stanza_size = 1000;
    });
    const c = await component(t.componentPort);
    c.write(`<message from='echo.localhost' to='alice@localhost'><body>${'x'.repeat(2000)}</body></message>`);
    expect(await c.streamError()).toBe('policy-violation');
  });
});

describe('ejabberd_service: routing', () => {
  it('a client message reaches the component with from/to, and its reply reaches the client', async () => {
    const t = await server();
    const comp = await component(t.componentPort);
    const alice = await client(t.port, 'alice', 'wonderland', 'phone');
    alice.write("<message to='echo.localhost' type='chat' id='m1'><body>ping</body></message>");
    const got = await comp.next('message');
    expect(get_attr_s('from', got[2])).toBe('alice@localhost/phone');
    expect(get_attr_s('to', got[2])).toBe('echo.localhost');
    expect(get_attr_s('xmlns', got[2])).not.toBe('jabber:client');
    expect(bodyOf(got)).toBe('ping');
    const mark = alice.elements.length;
    comp.write(
      "<message from='echo.localhost' to='alice@localhost/phone' type='chat' id='r1'><body>pong</body></message>",
    );
    const reply = await alice.next('message', mark);
    expect(get_attr_s('from', reply[2])).toBe('echo.localhost');
    expect(bodyOf(reply)).toBe('pong');
    expect(element_to_string(reply)).not.toContain('jabber:component:accept');
  });

  it('a user JID of the component domain may be the from', async () => {
    const t = await server();
    const comp = await component(t.componentPort);
    const alice = await client(t.port, 'alice', 'wonderland', 'phone');
    const mark = alice.elements.length;
    comp.write(
      "<message from='bot@echo.localhost/x' to='alice@localhost/phone' type='chat'><body>hi</body></message>",
    );
    const got = await alice.next('message', mark);
    expect(get_attr_s('from', got[2])).toBe('bot@echo.localhost/x');
  });

  it('an IQ from a client reaches the component and its result comes back', async () => {
    const t = await server();
    const comp = await component(t.componentPort);
    const alice = await client(t.port, 'alice', 'wonderland', 'phone');
    alice.write("<iq to='echo.localhost' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
    const iq = await comp.next('iq');
    expect(get_attr_s('type', iq[2])).toBe('get');
    expect(get_attr_s('from', iq[2])).toBe('alice@localhost/phone');
    const mark = alice.elements.length;
    comp.write(
      "<iq from='echo.localhost' to='alice@localhost/phone' type='result' id='v1'><query xmlns='jabber:iq:version'><name>echo</name></query></iq>",
    );
    const result = await alice.until(
      () => alice.elements.slice(mark).find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === 'v1'),
      'the IQ result',
    );
    expect(get_attr_s('type', result[2])).toBe('result');
    expect(get_attr_s('from', result[2])).toBe('echo.localhost');
  });

  it('a spoofed from (a user of localhost) is invalid-from, and the route goes', async () => {
    const t = await server();
    const comp = await component(t.componentPort);
    comp.write("<message from='alice@localhost/phone' to='bob@localhost'><body>it is me</body></message>");
    expect(await comp.streamError()).toBe('invalid-from');
    await comp.until(() => comp.closed, 'the connection to close');
    expect(t.server.node.ejabberd_router.is_my_route('echo.localhost')).toBe(false);
  });

  it('check_from: false lets the component send as anybody', async () => {
    const t = await server((l) => {
      l.check_from = false;
    });
    const comp = await component(t.componentPort);
    const bob = await client(t.port, 'bob', 'builder', 'desk');
    const mark = bob.elements.length;
    comp.write(
      "<message from='alice@localhost/phone' to='bob@localhost/desk' type='chat'><body>as alice</body></message>",
    );
    const got = await bob.next('message', mark);
    expect(get_attr_s('from', got[2])).toBe('alice@localhost/phone');
  });

  it('a missing or malformed to comes back as jid-malformed', async () => {
    const t = await server();
    const comp = await component(t.componentPort);
    comp.write("<iq from='echo.localhost' type='get' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>");
    const error = await comp.until(
      () => comp.elements.find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === 'q1'),
      'the error',
    );
    expect(get_attr_s('type', error[2])).toBe('error');
    expect(error_condition(error)).toBe('jid-malformed');
    comp.write("<message from='echo.localhost' to='a@b@c' id='q2'><body>x</body></message>");
    const error2 = await comp.until(
      () => comp.elements.find((e) => e[1] === 'message' && get_attr_s('id', e[2]) === 'q2'),
      'the error',
    );
    expect(error_condition(error2)).toBe('jid-malformed');
  });

  it('once the component is gone, messages and IQs to its domain bounce', async () => {
    const t = await server();
    const comp = await component(t.componentPort);
    comp.write('</stream:stream>');
    await comp.until(() => comp.ended || comp.closed, 'the stream to end');
    await comp.until(
      () => !t.server.node.ejabberd_router.is_my_route('echo.localhost') || undefined,
      'the route to go',
    );
    const alice = await client(t.port, 'alice', 'wonderland', 'phone');
    let mark = alice.elements.length;
    alice.write("<message to='echo.localhost' type='chat' id='gone1'><body>anyone?</body></message>");
    const bounced = await alice.next('message', mark);
    expect(get_attr_s('type', bounced[2])).toBe('error');
    // ejabberd: service-unavailable (ejabberd_s2s treats a subdomain of a served host as a service);
    // tsjabberd's s2s stub answers remote-server-not-found for every unrouted domain.
    expect(['service-unavailable', 'remote-server-not-found']).toContain(error_condition(bounced));
    mark = alice.elements.length;
    alice.write("<iq to='echo.localhost' type='get' id='gone2'><query xmlns='jabber:iq:version'/></iq>");
    const iq = await alice.next('iq', mark);
    expect(get_attr_s('type', iq[2])).toBe('error');
    expect(['service-unavailable', 'remote-server-not-found']).toContain(error_condition(iq));
    // A new component may take the domain again.
    await component(t.componentPort);
    expect(t.server.node.ejabberd_router.is_my_route('echo.localhost')).toBe(true);
  });

  it('the listener access rule is checked on the sender of packets to the component', async () => {
    const t = await server((l, c) => {
      c.acl.bob = { user: ['bob@localhost'] };
      c.access_rules.component_users = [['allow', 'bob']];
      l.access = 'component_users';
    });
    const comp = await component(t.componentPort);
    const alice = await client(t.port, 'alice', 'wonderland', 'phone');
    const mark = alice.elements.length;
    alice.write("<message to='echo.localhost' type='chat' id='a1'><body>let me in</body></message>");
    const denied = await alice.next('message', mark);
    expect(error_condition(denied)).toBe('not-allowed');
    const bob = await client(t.port, 'bob', 'builder', 'desk');
    bob.write("<message to='echo.localhost' type='chat' id='b1'><body>hello</body></message>");
    const got = await comp.next('message');
    expect(get_attr_s('from', got[2])).toBe('bob@localhost/desk');
  });

  it('a server shutdown ends the component stream with system-shutdown', async () => {
    const t = await server();
    const comp = await component(t.componentPort);
    await t.server.stop();
    expect(await comp.streamError()).toBe('system-shutdown');
  });
});
