/**
 * A deterministic corpus of client-to-server XMPP traffic: one `<stream:stream>` holding chat messages
 * (non-ASCII text, escaped entities, character references), chat states, receipts and markers, presences
 * with entity caps, roster results with 50 items, disco#info results with data forms, pubsub events with
 * nested payloads, stream management and pings, whitespace keepalives and a few 10 KB messages.
 * Everything comes from a seeded PRNG, so every run parses the same bytes.
 */
import { Prng } from './prng.js';

export const NS_CLIENT = 'jabber:client';
export const NS_STREAM = 'http://etherx.jabber.org/streams';

export const STREAM_HEADER =
  "<?xml version='1.0'?>" +
  `<stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' to='example.com' version='1.0' xml:lang='en'>`;
export const STREAM_FOOTER = '</stream:stream>';

/** How one sending client writes XML. */
interface Style {
  quote: "'" | '"';
  /** Probability that a non-ASCII character of text is written as a character reference. */
  charRefs: number;
  /** Writes `"` and `'` in text as `&quot;` / `&apos;` (some serialisers do). */
  escapeQuotesInText: boolean;
  /** Puts a newline and indentation between child elements (whitespace text in the tree). */
  pretty: boolean;
}

type Attrs = Record<string, string | number | undefined>;

function escapeAttr(value: string, style: Style): string {
  let out = '';
  for (const ch of value) {
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === style.quote) out += style.quote === "'" ? '&apos;' : '&quot;';
    else out += ch;
  }
  return out;
}

class Writer {
  constructor(
    readonly rng: Prng,
    readonly style: Style,
  ) {}

  /** Character data, escaped the way this client escapes it. */
  t(text: string): string {
    const { rng, style } = this;
    let out = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (ch === '&') out += '&amp;';
      else if (ch === '<') out += '&lt;';
      else if (ch === '>') out += '&gt;';
      else if (style.escapeQuotesInText && ch === '"') out += '&quot;';
      else if (style.escapeQuotesInText && ch === "'") out += '&apos;';
      else if (cp > 127 && style.charRefs > 0 && rng.chance(style.charRefs)) {
        out += rng.chance(0.5) ? `&#x${cp.toString(16).toUpperCase()};` : `&#${cp};`;
      } else out += ch;
    }
    return out;
  }

  /** An element; `children` are already written (elements start with '<', text never does). */
  el(name: string, attrs: Attrs = {}, ...children: string[]): string {
    const q = this.style.quote;
    let s = `<${name}`;
    for (const key of Object.keys(attrs)) {
      const v = attrs[key];
      if (v !== undefined) s += ` ${key}=${q}${escapeAttr(String(v), this.style)}${q}`;
    }
    if (children.length === 0) return `${s}/>`;
    if (this.style.pretty && children.every((c) => c.startsWith('<'))) {
      return `${s}>\n  ${children.join('\n  ')}\n</${name}>`;
    }
    return `${s}>${children.join('')}</${name}>`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Vocabulary

/** Words of each language, space-separated; `sep` joins them in a sentence. */
const WORDS: Record<string, { words: readonly string[]; sep: string }> = {
  en: {
    sep: ' ',
    words: (
      'hello hi are you coming to the meeting tomorrow coffee project release server ticket lunch weekend ' +
      'deploy review thanks sure maybe later tonight build test patch is broken again works for me please ' +
      'check the logs I think we should ship it on Monday sounds good see you there ok what about a call in ' +
      'ten minutes sorry running late great news'
    ).split(' '),
  },
  de: {
    sep: ' ',
    words:
      'Hallo Grüße über Straße schön Müller Bücher morgen Besprechung natürlich Käse fünf Öffnungszeiten danke bis später wir sehen uns gleich Tschüß'.split(
        ' ',
      ),
  },
  fr: {
    sep: ' ',
    words:
      'Bonjour café déjà très bientôt à être où garçon naïve élève Noël ça va merci réunion demain fenêtre hôpital œuvre'.split(
        ' ',
      ),
  },
  ru: {
    sep: ' ',
    words:
      'Привет как дела спасибо завтра встреча хорошо пожалуйста сервер работает да нет конечно сообщение друг ёлка объявление сегодня вечером'.split(
        ' ',
      ),
  },
  el: { sep: ' ', words: 'Γεια σου ευχαριστώ αύριο καλημέρα ναι όχι φίλε μήνυμα'.split(' ') },
  zh: {
    sep: '',
    words: '你好 谢谢 明天 见 我们 开会 服务器 今天 很 好 没问题 消息 朋友 吃饭了吗 。 ，'.split(' '),
  },
  ja: {
    sep: '',
    words:
      'こんにちは ありがとう 明日 会議 です ね サーバー 大丈夫 メッセージ 友達 よろしくお願いします 。'.split(
        ' ',
      ),
  },
  ar: { sep: ' ', words: 'مرحبا شكرا غدا اجتماع نعم لا صديق رسالة اليوم'.split(' ') },
};
const LOCALE_WEIGHTS = { en: 55, de: 10, fr: 6, ru: 11, el: 2, zh: 7, ja: 5, ar: 4 };
/** Text that needs escaping, or looks like markup. */
const SPECIAL = (
  'R&D|a < b|x > y|"quoted"|it\'s|<3|Tom & Jerry|AT&T|->|<html>|&amp; literally|l\'été' +
  "|if (a && b) { return x<y; }|https://example.org/search?q=xmpp&lang=en|1 > 0|don't"
).split('|');
const EMOJI = '😀 👍 🎉 ❤️ 🚀 🙈 😂 🤔 ✅ 🔥 👋🏽 🇩🇪 𝄞'.split(' ');

const LOCALPARTS = (
  'alice bob carol dave eve frank grace heidi ivan judy mallory oscar peggy trent victor walter jürgen zoë ' +
  'renée андрей наташа 李雷 韩梅梅 yūki søren françois o.brien dev-team support nikos'
).split(' ');
const DOMAINS = 'example.com example.net jabber.example.org xmpp.example.de chat.example.ru'.split(' ');
const NAMES = (
  "Alice Liddell|Bob|Carol & Co|Dave O'Brien|Eve <security>|Frank|Grace Hopper|Heidi" +
  '|Иван Петров|Judy|李雷|Zoë Ünal|Renée|Søren Kierkegaard|François|Mum ❤️|Work "Team"'
).split('|');
const GROUPS = ['Friends', 'Family', 'Work', 'Coworkers & Partners', 'Друзья', '家族', 'Bots'];
const CLIENTS = [
  { node: 'http://conversations.im', name: 'Conversations', type: 'phone', os: 'Android', version: '2.16.7' },
  { node: 'https://gajim.org', name: 'Gajim', type: 'pc', os: 'Windows', version: '1.9.5' },
  { node: 'https://dino.im', name: 'Dino', type: 'pc', os: 'Linux', version: '0.4.4' },
  { node: 'http://monal-im.org/', name: 'Monal', type: 'phone', os: 'iOS', version: '6.4.6' },
  {
    node: 'https://profanity-im.github.io',
    name: 'Profanity',
    type: 'console',
    os: 'Linux',
    version: '0.14.0',
  },
];
const FEATURES = (
  'http://jabber.org/protocol/caps http://jabber.org/protocol/chatstates http://jabber.org/protocol/disco#info ' +
  'http://jabber.org/protocol/disco#items http://jabber.org/protocol/muc http://jabber.org/protocol/nick+notify ' +
  'http://jabber.org/protocol/geoloc+notify http://jabber.org/protocol/tune+notify jabber:iq:version ' +
  'jabber:x:conference jabber:x:oob urn:xmpp:avatar:metadata+notify urn:xmpp:chat-markers:0 urn:xmpp:jingle:1 ' +
  'urn:xmpp:jingle:apps:rtp:1 urn:xmpp:jingle:apps:rtp:audio urn:xmpp:jingle:apps:rtp:video ' +
  'urn:xmpp:jingle:transports:ice-udp:1 urn:xmpp:message-correct:0 urn:xmpp:ping urn:xmpp:receipts urn:xmpp:time ' +
  'urn:xmpp:reactions:0 urn:xmpp:message-retract:1 eu.siacs.conversations.axolotl.devicelist+notify'
).split(' ');

// ---------------------------------------------------------------------------------------------------
// Generators

function sentence(rng: Prng, minWords: number, maxWords: number): string {
  const locale = WORDS[rng.weighted(LOCALE_WEIGHTS)];
  const n = rng.int(minWords, maxWords);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.float();
    if (r < 0.06) parts.push(rng.pick(SPECIAL));
    else if (r < 0.1) parts.push(rng.pick(EMOJI));
    else parts.push(rng.pick(locale.words));
  }
  return parts.join(locale.sep) + rng.pick(['', '', '.', '!', '?', ' :)', '…']);
}

function paragraph(rng: Prng, sentences: number): string {
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) out.push(sentence(rng, 4, 18));
  return out.join(' ');
}

/** Plain text of at least `bytes` UTF-8 bytes, in paragraphs. */
export function longText(rng: Prng, bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const p = paragraph(rng, rng.int(3, 8));
    parts.push(p);
    size += Buffer.byteLength(p) + 2;
  }
  return parts.join('\n\n');
}

function jid(rng: Prng, withResource: boolean): string {
  const bare = `${rng.pick(LOCALPARTS)}@${rng.pick(DOMAINS)}`;
  if (!withResource) return bare;
  const res = rng.pick([
    () => `Conversations.${rng.id(4)}`,
    () => `gajim.${rng.hex(8).toUpperCase()}`,
    () => `dino.${rng.hex(8)}`,
    () => 'phone',
    () => 'laptop',
    () => `Monal-iOS.${rng.hex(8)}`,
  ])();
  return `${bare}/${res}`;
}

function stamp(rng: Prng): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `2024-${pad(rng.int(1, 12))}-${pad(rng.int(1, 28))}T${pad(rng.int(0, 23))}:${pad(rng.int(0, 59))}:${pad(rng.int(0, 59))}Z`;
}

type Gen = (w: Writer) => string;

const chatMessage: Gen = (w) => {
  const { rng } = w;
  const extras: string[] = [
    w.el(
      'body',
      {},
      w.t(rng.chance(0.15) ? `${sentence(rng, 3, 12)}\n${sentence(rng, 3, 12)}` : sentence(rng, 1, 25)),
    ),
  ];
  if (rng.chance(0.2)) extras.push(w.el('thread', {}, rng.uuid()));
  if (rng.chance(0.7)) extras.push(w.el('active', { xmlns: 'http://jabber.org/protocol/chatstates' }));
  if (rng.chance(0.6)) extras.push(w.el('request', { xmlns: 'urn:xmpp:receipts' }));
  if (rng.chance(0.5)) extras.push(w.el('markable', { xmlns: 'urn:xmpp:chat-markers:0' }));
  if (rng.chance(0.6)) extras.push(w.el('origin-id', { xmlns: 'urn:xmpp:sid:0', id: rng.uuid() }));
  if (rng.chance(0.05)) extras.push(w.el('replace', { xmlns: 'urn:xmpp:message-correct:0', id: rng.uuid() }));
  if (rng.chance(0.05)) {
    extras.push(
      w.el(
        'x',
        { xmlns: 'jabber:x:oob' },
        w.el('url', {}, w.t(`https://upload.example.com/${rng.id(20)}/photo.jpg?size=large&v=2`)),
      ),
    );
  }
  return w.el(
    'message',
    {
      type: 'chat',
      to: jid(rng, rng.chance(0.3)),
      id: rng.id(12),
      'xml:lang': rng.chance(0.3) ? 'en' : undefined,
    },
    ...extras,
  );
};

const chatState: Gen = (w) => {
  const { rng } = w;
  const state = rng.pick(['composing', 'composing', 'paused', 'active', 'inactive', 'gone']);
  const children = [w.el(state, { xmlns: 'http://jabber.org/protocol/chatstates' })];
  if (rng.chance(0.5)) children.push(w.el('no-store', { xmlns: 'urn:xmpp:hints' }));
  return w.el('message', { type: 'chat', to: jid(rng, rng.chance(0.5)), id: rng.id(12) }, ...children);
};

const receipt: Gen = (w) => {
  const { rng } = w;
  const child = rng.chance(0.6)
    ? w.el('received', { xmlns: 'urn:xmpp:receipts', id: rng.id(12) })
    : w.el(rng.pick(['displayed', 'received', 'acknowledged']), {
        xmlns: 'urn:xmpp:chat-markers:0',
        id: rng.id(12),
      });
  const hints = rng.chance(0.4) ? [w.el('store', { xmlns: 'urn:xmpp:hints' })] : [];
  return w.el(
    'message',
    { to: jid(rng, true), id: rng.id(12), type: rng.chance(0.7) ? 'chat' : undefined },
    child,
    ...hints,
  );
};

const presence: Gen = (w) => {
  const { rng } = w;
  if (rng.chance(0.1)) {
    return w.el('presence', {
      type: rng.pick(['unavailable', 'subscribe', 'subscribed', 'unsubscribe']),
      to: rng.chance(0.6) ? jid(rng, false) : undefined,
    });
  }
  const client = rng.pick(CLIENTS);
  const children: string[] = [];
  if (rng.chance(0.5)) children.push(w.el('show', {}, rng.pick(['away', 'chat', 'dnd', 'xa'])));
  if (rng.chance(0.4))
    children.push(
      w.el('status', { 'xml:lang': rng.chance(0.3) ? 'en' : undefined }, w.t(sentence(rng, 1, 8))),
    );
  children.push(w.el('priority', {}, String(rng.int(-1, 50))));
  children.push(
    w.el('c', {
      xmlns: 'http://jabber.org/protocol/caps',
      hash: 'sha-1',
      node: client.node,
      ver: rng.base64(20),
    }),
  );
  if (rng.chance(0.6))
    children.push(w.el('x', { xmlns: 'vcard-temp:x:update' }, w.el('photo', {}, rng.hex(40))));
  if (rng.chance(0.2)) children.push(w.el('idle', { xmlns: 'urn:xmpp:idle:1', since: stamp(rng) }));
  return w.el(
    'presence',
    {
      to: rng.chance(0.2) ? `room@conference.example.com/${rng.pick(LOCALPARTS)}` : undefined,
      id: rng.chance(0.5) ? rng.id(8) : undefined,
    },
    ...children,
  );
};

const roster: Gen = (w) => {
  const { rng } = w;
  const items: string[] = [];
  for (let i = 0; i < 50; i++) {
    const groups: string[] = [];
    const ng = rng.pick([0, 1, 1, 1, 2]);
    for (let g = 0; g < ng; g++) groups.push(w.el('group', {}, w.t(GROUPS[(i + g) % GROUPS.length])));
    items.push(
      w.el(
        'item',
        {
          jid: `${rng.pick(LOCALPARTS)}${i}@${rng.pick(DOMAINS)}`,
          name: rng.chance(0.8) ? rng.pick(NAMES) : undefined,
          subscription: rng.pick(['both', 'both', 'both', 'to', 'from', 'none']),
          ask: rng.chance(0.05) ? 'subscribe' : undefined,
        },
        ...groups,
      ),
    );
  }
  return w.el(
    'iq',
    { type: 'result', id: rng.id(10), to: jid(rng, true) },
    w.el('query', { xmlns: 'jabber:iq:roster', ver: `ver${rng.int(1, 999)}` }, ...items),
  );
};

const discoInfo: Gen = (w) => {
  const { rng } = w;
  const client = rng.pick(CLIENTS);
  const ver = rng.base64(20);
  const features = FEATURES.filter(() => rng.chance(0.8)).map((f) => w.el('feature', { var: f }));
  const field = (v: string, value: string, type?: string) =>
    w.el('field', { var: v, type }, w.el('value', {}, w.t(value)));
  const form = w.el(
    'x',
    { xmlns: 'jabber:x:data', type: 'result' },
    field('FORM_TYPE', 'urn:xmpp:dataforms:softwareinfo', 'hidden'),
    field('os', client.os),
    field('os_version', `${rng.int(8, 14)}.${rng.int(0, 9)}`),
    field('software', client.name),
    field('software_version', client.version),
  );
  return w.el(
    'iq',
    { type: 'result', id: rng.id(10), to: jid(rng, true), from: jid(rng, true) },
    w.el(
      'query',
      { xmlns: 'http://jabber.org/protocol/disco#info', node: `${client.node}#${ver}` },
      w.el('identity', { category: 'client', type: client.type, name: client.name, 'xml:lang': 'en' }),
      ...features,
      ...(rng.chance(0.7) ? [form] : []),
    ),
  );
};

const pubsubEvent: Gen = (w) => {
  const { rng } = w;
  const kind = rng.pick(['microblog', 'tune', 'geoloc', 'devicelist', 'avatar', 'nick']);
  let node: string;
  let payload: string;
  switch (kind) {
    case 'microblog':
      node = 'urn:xmpp:microblog:0';
      payload = w.el(
        'entry',
        { xmlns: 'http://www.w3.org/2005/Atom' },
        w.el('title', { type: 'text' }, w.t(sentence(rng, 2, 10))),
        w.el(
          'author',
          {},
          w.el('name', {}, w.t(rng.pick(NAMES))),
          w.el('uri', {}, `xmpp:${jid(rng, false)}`),
        ),
        w.el('published', {}, stamp(rng)),
        w.el('updated', {}, stamp(rng)),
        w.el(
          'content',
          { type: 'xhtml' },
          w.el(
            'div',
            { xmlns: 'http://www.w3.org/1999/xhtml' },
            w.el(
              'p',
              {},
              w.t(`${sentence(rng, 5, 20)} `),
              w.el('strong', {}, w.t(sentence(rng, 1, 3))),
              w.t(` ${sentence(rng, 3, 10)}`),
            ),
            w.el(
              'p',
              {},
              w.el(
                'a',
                { href: `https://blog.example.com/post?id=${rng.int(1, 9999)}&lang=en` },
                w.t('read more'),
              ),
            ),
          ),
        ),
        w.el('link', {
          rel: 'alternate',
          type: 'text/html',
          href: `https://blog.example.com/${rng.id(8)}?a=1&b=2`,
        }),
        w.el('id', {}, `tag:example.com,2024:${rng.uuid()}`),
      );
      break;
    case 'tune':
      node = 'http://jabber.org/protocol/tune';
      payload = w.el(
        'tune',
        { xmlns: node },
        w.el(
          'artist',
          {},
          w.t(rng.pick(['Yes', 'Björk', 'Sigur Rós', 'Mötley Crüe', 'Simon & Garfunkel', '坂本龍一'])),
        ),
        w.el('length', {}, String(rng.int(120, 600))),
        w.el('source', {}, w.t(sentence(rng, 1, 4))),
        w.el('title', {}, w.t(sentence(rng, 1, 5))),
        w.el('track', {}, String(rng.int(1, 12))),
      );
      break;
    case 'geoloc':
      node = 'http://jabber.org/protocol/geoloc';
      payload = w.el(
        'geoloc',
        { xmlns: node, 'xml:lang': 'en' },
        w.el('country', {}, w.t(rng.pick(['Deutschland', 'France', 'Россия', '日本', 'España']))),
        w.el('lat', {}, (rng.float() * 180 - 90).toFixed(6)),
        w.el('lon', {}, (rng.float() * 360 - 180).toFixed(6)),
        w.el('locality', {}, w.t(rng.pick(['München', 'Zürich', 'Kraków', 'São Paulo', 'Москва', '東京']))),
        w.el('timestamp', {}, stamp(rng)),
      );
      break;
    case 'devicelist': {
      node = 'eu.siacs.conversations.axolotl.devicelist';
      const devices: string[] = [];
      for (let i = rng.int(1, 6); i > 0; i--) devices.push(w.el('device', { id: rng.int(1, 2 ** 31 - 1) }));
      payload = w.el('list', { xmlns: 'eu.siacs.conversations.axolotl' }, ...devices);
      break;
    }
    case 'avatar':
      node = 'urn:xmpp:avatar:metadata';
      payload = w.el(
        'metadata',
        { xmlns: node },
        w.el('info', {
          bytes: rng.int(1000, 40000),
          height: 96,
          width: 96,
          id: rng.hex(40),
          type: 'image/png',
        }),
      );
      break;
    default:
      node = 'http://jabber.org/protocol/nick';
      payload = w.el('nick', { xmlns: node }, w.t(rng.pick(NAMES)));
  }
  const children = [
    w.el(
      'event',
      { xmlns: 'http://jabber.org/protocol/pubsub#event' },
      w.el('items', { node }, w.el('item', { id: kind === 'avatar' ? rng.hex(40) : 'current' }, payload)),
    ),
  ];
  if (rng.chance(0.3))
    children.push(w.el('delay', { xmlns: 'urn:xmpp:delay', stamp: stamp(rng), from: 'example.com' }));
  return w.el(
    'message',
    { from: jid(rng, false), to: jid(rng, true), type: 'headline', id: rng.id(12) },
    ...children,
  );
};

const streamManagement: Gen = (w) =>
  w.rng.chance(0.5)
    ? w.el('r', { xmlns: 'urn:xmpp:sm:3' })
    : w.el('a', { xmlns: 'urn:xmpp:sm:3', h: w.rng.int(0, 5000) });

const ping: Gen = (w) => {
  const { rng } = w;
  return rng.chance(0.5)
    ? w.el('iq', { type: 'get', id: rng.id(10), to: 'example.com' }, w.el('ping', { xmlns: 'urn:xmpp:ping' }))
    : w.el('iq', { type: 'result', id: rng.id(10), to: jid(rng, true) });
};

/** A message of about 10 KB: a long paste, with everything the short ones have. */
const bigMessage: Gen = (w) =>
  w.el(
    'message',
    { type: 'chat', to: jid(w.rng, false), id: w.rng.id(12) },
    w.el('body', {}, w.t(longText(w.rng, 10_000))),
    w.el('active', { xmlns: 'http://jabber.org/protocol/chatstates' }),
    w.el('request', { xmlns: 'urn:xmpp:receipts' }),
  );

const GENERATORS = {
  chatMessage,
  chatState,
  receipt,
  presence,
  roster,
  discoInfo,
  pubsubEvent,
  streamManagement,
  ping,
};
export type StanzaKind = keyof typeof GENERATORS | 'bigMessage';
const WEIGHTS: Record<keyof typeof GENERATORS, number> = {
  chatMessage: 30,
  chatState: 15,
  receipt: 12,
  presence: 18,
  roster: 0.6,
  discoInfo: 4,
  pubsubEvent: 8,
  streamManagement: 8,
  ping: 4,
};

function randomStyle(rng: Prng): Style {
  return {
    quote: rng.chance(0.7) ? "'" : '"',
    charRefs: rng.chance(0.1) ? 0.3 : 0,
    escapeQuotesInText: rng.chance(0.2),
    pretty: rng.chance(0.03),
  };
}

export interface Corpus {
  /** The whole stream as UTF-8. */
  bytes: Buffer;
  /** The stanzas as written (each a top-level child of the stream root). */
  stanzas: string[];
  kinds: Record<StanzaKind, number>;
}

/** The stream: header, stanzas (with whitespace keepalives between some) until `targetBytes`, footer. */
export function generateCorpus(seed: number, targetBytes: number): Corpus {
  const rng = new Prng(seed);
  const parts: string[] = [STREAM_HEADER];
  const stanzas: string[] = [];
  const kinds = Object.fromEntries([...Object.keys(GENERATORS), 'bigMessage'].map((k) => [k, 0])) as Record<
    StanzaKind,
    number
  >;
  let size = Buffer.byteLength(STREAM_HEADER);
  /** A 10 KB message every 150 KB or so. */
  let nextBig = 150_000;
  while (size < targetBytes) {
    let kind: StanzaKind;
    if (size >= nextBig) {
      kind = 'bigMessage';
      nextBig += 150_000;
    } else kind = rng.weighted(WEIGHTS);
    const w = new Writer(rng, randomStyle(rng));
    const stanza = kind === 'bigMessage' ? bigMessage(w) : GENERATORS[kind](w);
    kinds[kind]++;
    stanzas.push(stanza);
    parts.push(stanza);
    size += Buffer.byteLength(stanza);
    if (rng.chance(0.02)) {
      const keepalive = rng.pick([' ', '\n', '\n\n', '\t ']);
      parts.push(keepalive);
      size += keepalive.length;
    }
  }
  parts.push(STREAM_FOOTER);
  return { bytes: Buffer.from(parts.join(''), 'utf8'), stanzas, kinds };
}

export interface TextStream {
  bytes: Buffer;
  /** The body's text as a parser must deliver it (references expanded). */
  text: string;
}

/** A stream holding one message whose body is a single text node of at least `textBytes` bytes. */
export function generateTextStream(seed: number, textBytes: number): TextStream {
  const rng = new Prng(seed);
  const text = longText(rng, textBytes);
  const w = new Writer(rng, { quote: "'", charRefs: 0, escapeQuotesInText: false, pretty: false });
  const stanza = w.el(
    'message',
    { type: 'chat', to: 'bob@example.net', id: 'big' },
    w.el('body', {}, w.t(text)),
  );
  return { bytes: Buffer.from(STREAM_HEADER + stanza + STREAM_FOOTER, 'utf8'), text };
}

/** Cuts `bytes` into chunks of `size` bytes, as a socket might deliver them (views, not copies). */
export function chunk(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, Math.min(i + size, bytes.length)));
  return out;
}
