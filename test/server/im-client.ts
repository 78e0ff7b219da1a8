import { element_to_string, get_attr_s, get_subtag, type XmlElement } from '@tsjabberd/xml-stanza';
import { RawClient } from './raw-client.js';

/**
 * A logged-in RawClient with the few IM verbs the roster, presence and offline tests use: each waits
 * for what the server sends, so a test reads as a conversation.
 */
export class ImClient {
  private ids = 0;
  /** Elements already consumed by `expect`. */
  private seen = new Set<XmlElement>();

  private constructor(
    readonly raw: RawClient,
    readonly jid: string,
  ) {}

  static async login(port: number, user: string, password: string, resource: string): Promise<ImClient> {
    const raw = await RawClient.connect(port);
    const jid = await raw.login(user, password, resource, 'SCRAM-SHA-1', false);
    return new ImClient(raw, jid);
  }

  get bare(): string {
    return this.jid.split('/')[0];
  }

  send(xml: string): void {
    this.raw.write(xml);
  }

  /** Sends an IQ and waits for its result or error. */
  async iq(type: 'get' | 'set', payload: string, to?: string): Promise<XmlElement> {
    const id = `q${++this.ids}`;
    this.send(`<iq type='${type}' id='${id}'${to === undefined ? '' : ` to='${to}'`}>${payload}</iq>`);
    return this.expect((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === id, `the answer to iq ${id}`);
  }

  /** The roster: jid → [subscription, ask, name, groups]. */
  async roster(): Promise<
    Map<string, { subscription: string; ask: string; name: string; groups: string[] }>
  > {
    const result = await this.iq('get', `<query xmlns='jabber:iq:roster'/>`);
    const out = new Map<string, { subscription: string; ask: string; name: string; groups: string[] }>();
    const query = get_subtag(result, 'query');
    if (query === false) throw new Error(`no roster in ${element_to_string(result)}`);
    for (const item of query[3]) {
      if (item[0] !== 'xmlelement') continue;
      out.set(get_attr_s('jid', item[2]), {
        subscription: get_attr_s('subscription', item[2]),
        ask: get_attr_s('ask', item[2]),
        name: get_attr_s('name', item[2]),
        groups: item[3].map((g) => ((g as XmlElement)[3][0] as ['xmlcdata', string])[1]),
      });
    }
    return out;
  }

  /** Waits for a not yet consumed element matching `test`, and consumes it. */
  async expect(test: (e: XmlElement) => boolean, what: string, ms = 5000): Promise<XmlElement> {
    const found = await this.raw.until(
      () => this.raw.elements.find((e) => !this.seen.has(e) && test(e)),
      `${what} at ${this.jid}`,
      ms,
    );
    this.seen.add(found);
    return found;
  }

  /** A presence from `from` (a bare or full JID prefix) of `type` ('' for available). */
  presence(from: string, type = ''): Promise<XmlElement> {
    return this.expect(
      (e) =>
        e[1] === 'presence' &&
        get_attr_s('type', e[2]) === type &&
        (get_attr_s('from', e[2]) === from || get_attr_s('from', e[2]).startsWith(`${from}/`)),
      `presence ${type || 'available'} from ${from}`,
    );
  }

  /** A roster push for `jid`; returns its item. */
  async push(jid: string, subscription?: string): Promise<XmlElement> {
    const iq = await this.expect(
      (e) => {
        if (e[1] !== 'iq' || get_attr_s('type', e[2]) !== 'set') return false;
        const query = get_subtag(e, 'query');
        if (query === false || get_attr_s('xmlns', query[2]) !== 'jabber:iq:roster') return false;
        const item = query[3][0] as XmlElement;
        return (
          get_attr_s('jid', item[2]) === jid &&
          (subscription === undefined || get_attr_s('subscription', item[2]) === subscription)
        );
      },
      `a roster push for ${jid}${subscription === undefined ? '' : ` (${subscription})`}`,
    );
    // RFC 6121 2.1.6: the client acknowledges the push.
    this.send(`<iq type='result' id='${get_attr_s('id', iq[2])}'/>`);
    return (get_subtag(iq, 'query') as XmlElement)[3][0] as XmlElement;
  }

  /** Whether nothing matching `test` arrived within `ms`. */
  async nothing(test: (e: XmlElement) => boolean, ms = 300): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return !this.raw.elements.some((e) => !this.seen.has(e) && test(e));
  }

  /** Messages received so far, consumed. */
  messages(): XmlElement[] {
    const out = this.raw.elements.filter((e) => e[1] === 'message' && !this.seen.has(e));
    for (const m of out) this.seen.add(m);
    return out;
  }

  /** Closes the stream politely (the server broadcasts unavailable). */
  async logout(): Promise<void> {
    this.send('</stream:stream>');
    await this.raw.until(() => this.raw.closed || undefined, 'the stream to close');
  }

  /** Drops the TCP connection without a word (a crash, a pulled cable). */
  kill(): void {
    this.raw.close();
  }
}

/** The text of a child element, '' when absent. */
export function childText(e: XmlElement, name: string): string {
  const c = get_subtag(e, name);
  if (c === false) return '';
  return c[3].map((x) => (x[0] === 'xmlcdata' ? x[1] : '')).join('');
}

/** Subscribes `a` and `b` to each other (RFC 6121 3.1 both ways), both online and interested. */
export async function subscribeBoth(a: ImClient, b: ImClient): Promise<void> {
  a.send(`<presence to='${b.bare}' type='subscribe'/>`);
  await b.presence(a.bare, 'subscribe');
  b.send(`<presence to='${a.bare}' type='subscribed'/>`);
  await a.push(b.bare, 'to');
  b.send(`<presence to='${a.bare}' type='subscribe'/>`);
  await a.presence(b.bare, 'subscribe');
  a.send(`<presence to='${b.bare}' type='subscribed'/>`);
  await b.push(a.bare, 'both');
}
