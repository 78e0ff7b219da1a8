/**
 * Correctness checks run before timing anything: every parser must deliver the same stanzas for the
 * corpus, however it is chunked, and both serialisers must write text that parses back to the tree.
 */
import { element_to_string, from_ltx, to_ltx, type XmlElement, type XmlNode } from '@tsjabberd/xml-stanza';
import { parse_element, type XmlStreamOptions } from '@tsjabberd/xml-stream';
import { parse as ltxParse } from 'ltx';
import { chunk, NS_CLIENT, NS_STREAM, type TextStream } from './corpus.js';
import { ltxRaw, PEERS, type Peer, xmlStream } from './parsers.js';

/**
 * One form for trees from every parser. xml-stream gives a stanza that relies on the stream root's
 * declarations those declarations itself (`xmlns='jabber:client'`, `xmlns:stream=...`); the other
 * parsers do not. So on the stanza itself, such declarations equal to the root's are dropped, whoever
 * wrote them. Adjacent text is merged and empty text dropped.
 */
export function normalise(stanza: XmlElement): XmlElement {
  const attrs = stanza[2].filter(
    ([k, v]) => !((k === 'xmlns' && v === NS_CLIENT) || (k === 'xmlns:stream' && v === NS_STREAM)),
  );
  return ['xmlelement', stanza[1], attrs, mergeText(stanza[3])];
}

function mergeText(children: XmlNode[]): XmlNode[] {
  const out: XmlNode[] = [];
  for (const child of children) {
    if (child[0] === 'xmlcdata') {
      if (child[1] === '') continue;
      const last = out[out.length - 1];
      if (last !== undefined && last[0] === 'xmlcdata') last[1] += child[1];
      else out.push(['xmlcdata', child[1]]);
    } else out.push(['xmlelement', child[1], child[2].map(([k, v]) => [k, v]), mergeText(child[3])]);
  }
  return out;
}

function canonical(stanza: XmlElement): string {
  return JSON.stringify(normalise(stanza));
}

export interface Mismatch {
  check: string;
  detail: string;
}

export interface CheckReport {
  /** What was checked and passed. */
  passed: string[];
  /** Failures: a parser that disagrees with the reference. */
  mismatches: Mismatch[];
  /** Known, expected differences worth reporting (not failures). */
  notes: string[];
}

/** Where two JSON texts first differ, with some context. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 60);
  return `at ${i}:\n    expected …${a.slice(from, i + 60)}…\n    got      …${b.slice(from, i + 60)}…`;
}

function compareStanzas(reference: string[], got: XmlElement[], check: string, report: CheckReport): number {
  let bad = 0;
  if (got.length !== reference.length) {
    report.mismatches.push({ check, detail: `${got.length} stanzas instead of ${reference.length}` });
  }
  for (let i = 0; i < Math.min(reference.length, got.length); i++) {
    const c = canonical(got[i]);
    if (c !== reference[i]) {
      if (bad < 3)
        report.mismatches.push({ check, detail: `stanza #${i} differs ${firstDifference(reference[i], c)}` });
      bad++;
    }
  }
  if (bad > 3) report.mismatches.push({ check, detail: `… ${bad} stanzas differ in all` });
  return bad;
}

function tryCollect(
  peer: Peer,
  chunks: Buffer[],
  check: string,
  report: CheckReport,
  options: XmlStreamOptions = {},
): XmlElement[] | null {
  try {
    return peer.collect(chunks, options);
  } catch (e) {
    report.mismatches.push({ check, detail: `threw ${e instanceof Error ? e.message : String(e)}` });
    return null;
  }
}

/**
 * Parses the corpus with every peer in each chunk size and compares every stanza with xml-stream's
 * result for the whole corpus in one write. Returns xml-stream's stanzas (the input of the serialiser
 * benchmark).
 */
export function checkCorpus(
  bytes: Buffer,
  expectedStanzas: number,
  chunkSizes: number[],
  report: CheckReport,
): XmlElement[] {
  const stanzas = xmlStream.collect([bytes]);
  if (stanzas.length !== expectedStanzas) {
    report.mismatches.push({
      check: 'xml-stream, one write',
      detail: `${stanzas.length} stanzas, the generator wrote ${expectedStanzas}`,
    });
  }
  const reference = stanzas.map(canonical);
  for (const size of chunkSizes) {
    const chunks = chunk(bytes, size);
    for (const peer of PEERS) {
      const check = `corpus, ${peer.name}, ${size}-byte chunks`;
      const got = tryCollect(peer, chunks, check, report);
      if (
        got !== null &&
        compareStanzas(reference, got, check, report) === 0 &&
        got.length === reference.length
      ) {
        report.passed.push(check);
      }
    }
  }
  // ltx as xmpp.js feeds it (Buffer in, `toString()` per chunk): characters split by a chunk boundary break.
  const size = chunkSizes[0];
  const got = ltxRaw.collect(chunk(bytes, size));
  let bad = 0;
  for (let i = 0; i < Math.min(got.length, reference.length); i++)
    if (canonical(got[i]) !== reference[i]) bad++;
  report.notes.push(
    `${ltxRaw.name}, ${size}-byte chunks: ${bad} of ${reference.length} stanzas differ (a UTF-8 character split ` +
      'between two chunks becomes U+FFFD), which is why ltx, saxes and @xmpp/xml are fed through a StringDecoder.',
  );
  return stanzas;
}

/** `element_to_string` and ltx's `toString` must both write text that parses back to the same stanza. */
export function checkSerialisers(stanzas: XmlElement[], report: CheckReport): void {
  let badOurs = 0;
  let badLtx = 0;
  for (const el of stanzas) {
    const want = canonical(el);
    const ours = parse_element(element_to_string(el));
    if (ours[0] === 'error' || canonical(ours) !== want) {
      if (badOurs++ < 3)
        report.mismatches.push({
          check: 'element_to_string round trip',
          detail: element_to_string(el).slice(0, 200),
        });
    }
    const back = from_ltx(ltxParse(to_ltx(el).toString()));
    if (canonical(back) !== want) {
      if (badLtx++ < 3)
        report.mismatches.push({
          check: 'ltx toString round trip',
          detail: to_ltx(el).toString().slice(0, 200),
        });
    }
  }
  if (badOurs === 0) report.passed.push(`element_to_string round trip (${stanzas.length} stanzas)`);
  if (badLtx === 0) report.passed.push(`ltx toString round trip (${stanzas.length} stanzas)`);
}

/** Each parser must deliver the whole text node, however small the chunks. */
export function checkTextStream(stream: TextStream, chunkSizes: number[], report: CheckReport): void {
  for (const size of chunkSizes) {
    const chunks = chunk(stream.bytes, size);
    for (const peer of PEERS) {
      const check = `1 MB text node, ${peer.name}, ${size}-byte chunks`;
      const got = tryCollect(peer, chunks, check, report, { maxStanzaSize: Infinity });
      if (got === null) continue;
      const body = got[0]?.[3][0];
      const text =
        body?.[0] === 'xmlelement'
          ? body[3].map((c) => (c[0] === 'xmlcdata' ? c[1] : '')).join('')
          : undefined;
      if (got.length !== 1 || text !== stream.text) {
        report.mismatches.push({
          check,
          detail: `${got.length} stanzas, text of ${text?.length} chars instead of ${stream.text.length}`,
        });
      } else report.passed.push(check);
    }
  }
}
