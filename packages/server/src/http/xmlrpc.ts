/**
 * The XML-RPC codec of ejabberd_xmlrpc: the wire format (http://xmlrpc.com/spec.md) in which clients
 * POST `<methodCall>` bodies naming an ejabberd command, and get a `<methodResponse>` carrying either the
 * result or a `<fault>` back. Only the codec lives here; the HTTP handler runs the commands.
 *
 * Parsing is strict: the project's own XML parser (no DTDs, entities beyond the predefined five,
 * comments or processing instructions) reads the body, and any element or text the spec does not allow
 * where it stands is an `XmlRpcParseError` saying what and where. `<nil/>` (the common extension) is
 * accepted and sent for null. `<double>` decodes to a plain number, so `2.0` comes back out as `<int>`.
 */
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { FORBIDDEN_CHAR } from '@tsjabberd/xml-stanza';
import { parse_element } from '@tsjabberd/xml-stream';

/** An XML-RPC value as JS: int/i4/i8/double → number, boolean, string, dateTime.iso8601 → Date (UTC),
 *  base64 → Uint8Array, nil → null, array → array, struct → XmlRpcStruct. */
export type XmlRpcValue = number | boolean | string | Date | Uint8Array | null | XmlRpcValue[] | XmlRpcStruct;
/** A struct; parsed ones have no prototype, so `__proto__` or `constructor` are ordinary members. */
export interface XmlRpcStruct {
  [member: string]: XmlRpcValue;
}
export interface MethodCall {
  method: string;
  params: XmlRpcValue[];
}

/** A request body that is not a well-formed, valid XML-RPC method call. */
export class XmlRpcParseError extends Error {
  override name = 'XmlRpcParseError';
}

/** A struct naming one member twice: refused rather than letting either value silently win. */
export class XmlRpcDuplicateMember extends XmlRpcParseError {
  override name = 'XmlRpcDuplicateMember';
  constructor(
    public readonly member: string,
    message = `duplicate struct member '${member}'`,
  ) {
    super(message);
  }
}

// Nesting is bounded by the parser, so the recursive decoder cannot overflow the stack. Each array or
// struct level costs 3 elements, so this allows about 20 levels of values.
const PARSE_LIMITS = { maxDepth: 64, maxAttributes: 8 };
const METHOD_NAME = /^[A-Za-z0-9_.:/]+$/;
const XML_WS = /^[ \t\r\n]*$/;
const INTEGER = /^[+-]?[0-9]+$/;
// The spec forbids exponents, but Python sends repr(float), e.g. 1e+20, so they are accepted.
const DOUBLE = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const DATE_TIME = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.(\d{1,9}))?Z?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Quotes offending text for an error message, cut short so a huge value cannot flood a log line. */
function show(text: string): string {
  return `'${text.length > 40 ? `${text.slice(0, 40)}...` : text}'`;
}

function fail(where: string, what: string): never {
  throw new XmlRpcParseError(where === '' ? what : `${where}: ${what}`);
}

function at(where: string, step: string): string {
  return where === '' ? step : `${where}: ${step}`;
}

/** The child elements of `el`; text between them must be whitespace (pretty-printing). */
function elements(el: XmlElement, where: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of el[3]) {
    if (node[0] === 'xmlelement') out.push(node);
    else if (!XML_WS.test(node[1])) fail(where, `unexpected text in <${el[1]}>: ${show(node[1])}`);
  }
  return out;
}

/** The text of a leaf element; one holding child elements is refused. */
function text(el: XmlElement, where: string): string {
  let out = '';
  for (const node of el[3]) {
    if (node[0] === 'xmlelement') fail(where, `<${el[1]}> must not contain <${node[1]}>`);
    out += node[1];
  }
  return out;
}

/** The only child element of `el`, which must be named `name`. */
function only(el: XmlElement, name: string, where: string): XmlElement {
  const children = elements(el, where);
  if (children.length !== 1 || children[0]![1] !== name) fail(where, `<${el[1]}> must hold one <${name}>`);
  return children[0]!;
}

function decodeValue(value: XmlElement, where: string): XmlRpcValue {
  const typed = value[3].filter((n): n is XmlElement => n[0] === 'xmlelement');
  if (typed.length === 0) return text(value, where); // untyped: a string, whitespace included
  if (typed.length > 1) fail(where, '<value> holds more than one type element');
  const el = elements(value, where)[0]!;
  const type = el[1];
  switch (type) {
    case 'string':
      return text(el, where);
    case 'int':
    case 'i4':
    case 'i8': {
      const s = text(el, where).trim();
      const n = Number(s);
      if (!INTEGER.test(s)) fail(where, `<${type}> is not an integer: ${show(s)}`);
      if (!Number.isSafeInteger(n)) fail(where, `<${type}> is out of range: ${show(s)}`);
      return n + 0; // -0 → 0
    }
    case 'boolean': {
      const s = text(el, where).trim();
      if (s !== '0' && s !== '1') fail(where, `<boolean> must be 0 or 1: ${show(s)}`);
      return s === '1';
    }
    case 'double': {
      const s = text(el, where).trim();
      const n = Number(s);
      if (!DOUBLE.test(s) || !Number.isFinite(n)) fail(where, `<double> is not a finite number: ${show(s)}`);
      return n;
    }
    case 'dateTime.iso8601': {
      const s = text(el, where).trim();
      const m = DATE_TIME.exec(s);
      if (m === null) fail(where, `<dateTime.iso8601> is not YYYYMMDDTHH:MM:SS: ${show(s)}`);
      const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
      const date = new Date(0);
      date.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which maps years 0-99 to 1900-1999
      date.setUTCHours(h, mi, sec, ms);
      // Date.UTC rolls over (Feb 30 → Mar 2); a date whose fields changed did not exist.
      if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59)
        fail(where, `<dateTime.iso8601> is not a valid date: ${show(s)}`);
      return date;
    }
    case 'base64': {
      const s = text(el, where).replace(/[ \t\r\n]+/g, ''); // encoders wrap lines at 76 characters
      if (!BASE64.test(s)) fail(where, `<base64> is not base64: ${show(s)}`);
      return Uint8Array.from(Buffer.from(s, 'base64'));
    }
    case 'nil':
      if (el[3].length > 0) fail(where, '<nil/> must be empty');
      return null;
    case 'array':
      return elements(only(el, 'data', where), where).map((item, i) => {
        const step = at(where, `item ${i + 1}`);
        if (item[1] !== 'value') fail(step, `<data> holds <${item[1]}>, not <value>`);
        return decodeValue(item, step);
      });
    case 'struct': {
      const struct: XmlRpcStruct = Object.create(null);
      for (const member of elements(el, where)) {
        if (member[1] !== 'member') fail(where, `<struct> holds <${member[1]}>, not <member>`);
        const parts = elements(member, where);
        const nameEl = parts.find((p) => p[1] === 'name');
        const valueEl = parts.find((p) => p[1] === 'value');
        if (parts.length !== 2 || nameEl === undefined || valueEl === undefined)
          fail(where, '<member> must hold one <name> and one <value>');
        const name = text(nameEl, where);
        const step = at(where, `member ${show(name)}`);
        if (Object.hasOwn(struct, name)) throw new XmlRpcDuplicateMember(name, `${step}: duplicate member`);
        struct[name] = decodeValue(valueEl, step);
      }
      return struct;
    }
    default:
      return fail(where, `unknown type <${type}>`);
  }
}

/** Reads a `<methodCall>` request body. */
export function parse_method_call(body: string): MethodCall {
  const root = parse_element(body, PARSE_LIMITS);
  if (root[0] === 'error') fail('', `XML refused: ${root[1].reason}`);
  if (root[1] !== 'methodCall') fail('', `the root element is <${root[1]}>, not <methodCall>`);
  const children = elements(root, '');
  const nameEls = children.filter((c) => c[1] === 'methodName');
  const paramsEls = children.filter((c) => c[1] === 'params');
  const other = children.find((c) => c[1] !== 'methodName' && c[1] !== 'params');
  if (other !== undefined) fail('', `unexpected <${other[1]}> in <methodCall>`);
  if (nameEls.length !== 1) fail('', '<methodCall> must hold one <methodName>');
  if (paramsEls.length > 1) fail('', '<methodCall> holds more than one <params>');
  const method = text(nameEls[0]!, 'methodName').trim();
  if (!METHOD_NAME.test(method)) fail('', `bad method name: ${show(method)}`);
  const params =
    paramsEls.length === 0
      ? []
      : elements(paramsEls[0]!, '').map((param, i) => {
          const where = `param ${i + 1}`;
          if (param[1] !== 'param') fail(where, `<params> holds <${param[1]}>, not <param>`);
          return decodeValue(only(param, 'value', where), where);
        });
  return { method, params };
}

/** Text escaped for element content; CR as a reference so XML line-end normalisation keeps it. */
function xmlText(s: string): string {
  const bad = FORBIDDEN_CHAR.exec(s);
  if (bad !== null) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new Error(`xmlrpc: string has U+${code} at index ${bad.index}, which XML 1.0 cannot carry`);
  }
  return s.replace(/[&<>\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;',
  );
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function encodeValue(v: XmlRpcValue, open: Set<object>): string {
  if (v === null) return '<nil/>';
  switch (typeof v) {
    case 'string':
      return `<string>${xmlText(v)}</string>`;
    case 'boolean':
      return `<boolean>${v ? 1 : 0}</boolean>`;
    case 'number':
      if (!Number.isFinite(v)) throw new Error(`xmlrpc: ${v} cannot be sent (XML-RPC has no NaN/Infinity)`);
      if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) return `<int>${v + 0}</int>`;
      if (Number.isSafeInteger(v)) return `<i8>${v}</i8>`;
      return `<double>${v}</double>`;
    case 'object':
      break;
    default:
      throw new Error(`xmlrpc: a ${typeof v} cannot be sent`);
  }
  if (v instanceof Date) {
    const y = v.getUTCFullYear();
    if (Number.isNaN(y) || y < 0 || y > 9999) throw new Error('xmlrpc: invalid or out-of-range Date');
    return `<dateTime.iso8601>${pad(y, 4)}${pad(v.getUTCMonth() + 1)}${pad(v.getUTCDate())}T${pad(
      v.getUTCHours(),
    )}:${pad(v.getUTCMinutes())}:${pad(v.getUTCSeconds())}</dateTime.iso8601>`;
  }
  if (v instanceof Uint8Array)
    return `<base64>${Buffer.from(v.buffer, v.byteOffset, v.length).toString('base64')}</base64>`;
  if (open.has(v)) throw new Error('xmlrpc: a value that contains itself cannot be sent');
  open.add(v);
  let out: string;
  if (Array.isArray(v)) {
    out = `<array><data>${v.map((item) => `<value>${encodeValue(item, open)}</value>`).join('')}</data></array>`;
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== null && proto !== Object.prototype)
      throw new Error(`xmlrpc: a ${proto?.constructor?.name ?? 'object'} cannot be sent as a struct`);
    out = '<struct>';
    for (const [name, item] of Object.entries(v)) {
      out += `<member><name>${xmlText(name)}</name><value>${encodeValue(item, open)}</value></member>`;
    }
    out += '</struct>';
  }
  open.delete(v);
  return out;
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A `<methodResponse>` carrying one result value. Throws if the value cannot be represented. */
export function encode_response(value: XmlRpcValue): string {
  const body = encodeValue(value, new Set());
  return `${XML_DECL}<methodResponse><params><param><value>${body}</value></param></params></methodResponse>`;
}

/** A `<methodResponse>` carrying a fault. Never throws on the message: unsendable characters become U+FFFD. */
export function encode_fault(code: number, message: string): string {
  if (!Number.isInteger(code) || code < -(2 ** 31) || code >= 2 ** 31)
    throw new RangeError(`xmlrpc: faultCode must be an int32, not ${code}`);
  const safe = message.replace(new RegExp(FORBIDDEN_CHAR.source, 'gu'), '\uFFFD');
  const struct: XmlRpcStruct = { faultCode: code, faultString: safe };
  return `${XML_DECL}<methodResponse><fault><value>${encodeValue(struct, new Set())}</value></fault></methodResponse>`;
}
