import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  encode_fault,
  encode_response,
  parse_method_call,
  XmlRpcDuplicateMember,
  XmlRpcParseError,
  type XmlRpcValue,
} from '../src/http/xmlrpc.js';

/** A methodCall around the given `<param>` values. */
function call(method: string, ...values: string[]): string {
  const params = values.map((v) => `<param><value>${v}</value></param>`).join('');
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;
}

/** The response's value parsed back, by wrapping its `<params>` in a methodCall. */
function roundTrip(value: XmlRpcValue): XmlRpcValue {
  const response = encode_response(value);
  const inner = /<methodResponse>(.*)<\/methodResponse>$/s.exec(response)![1]!;
  return parse_method_call(`<methodCall><methodName>r</methodName>${inner}</methodCall>`).params[0]!;
}

function parseError(body: string): XmlRpcParseError {
  try {
    parse_method_call(body);
  } catch (err) {
    expect(err).toBeInstanceOf(XmlRpcParseError);
    return err as XmlRpcParseError;
  }
  throw new Error('expected an XmlRpcParseError');
}

/** Runs python3's xmlrpc.client.loads on `xml` and returns what it prints. */
function python(xml: string, script: string): string {
  const r = spawnSync('python3', ['-c', `import sys, xmlrpc.client\n${script}`], {
    input: xml,
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

// Exactly what xmlrpc.client.dumps(({'user':'bob','host':'localhost','n':5,'b':True},), 'register') prints.
const PYTHON_REGISTER = `<?xml version='1.0'?>
<methodCall>
<methodName>register</methodName>
<params>
<param>
<value><struct>
<member>
<name>user</name>
<value><string>bob</string></value>
</member>
<member>
<name>host</name>
<value><string>localhost</string></value>
</member>
<member>
<name>n</name>
<value><int>5</int></value>
</member>
<member>
<name>b</name>
<value><boolean>1</boolean></value>
</member>
</struct></value>
</param>
</params>
</methodCall>
`;

describe('parse_method_call', () => {
  it('reads the body Python xmlrpc.client sends', () => {
    const { method, params } = parse_method_call(PYTHON_REGISTER);
    expect(method).toBe('register');
    expect(params).toEqual([{ user: 'bob', host: 'localhost', n: 5, b: true }]);
    expect(Object.getPrototypeOf(params[0])).toBeNull();
  });

  it('reads Python-encoded double, dateTime, base64 and nil (base64 wrapped in newlines)', () => {
    const body = `<?xml version='1.0'?>
<methodCall>
<methodName>x</methodName>
<params>
<param>
<value><struct>
<member>
<name>a</name>
<value><double>1.5</double></value>
</member>
<member>
<name>d</name>
<value><dateTime.iso8601>20240102T03:04:05</dateTime.iso8601></value>
</member>
<member>
<name>b</name>
<value><base64>
AAFoaQ==
</base64></value>
</member>
<member>
<name>n</name>
<value><nil/></value></member>
</struct></value>
</param>
</params>
</methodCall>
`;
    expect(parse_method_call(body).params).toEqual([
      { a: 1.5, d: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), b: new Uint8Array([0, 1, 104, 105]), n: null },
    ]);
  });

  it('reads an auth struct followed by an args struct', () => {
    const auth =
      '<struct><member><name>user</name><value>admin</value></member>' +
      '<member><name>server</name><value>localhost</value></member>' +
      '<member><name>password</name><value>secret</value></member></struct>';
    const args = '<struct><member><name>user</name><value><string>bob</string></value></member></struct>';
    const { method, params } = parse_method_call(call('change_password', auth, args));
    expect(method).toBe('change_password');
    expect(params).toEqual([{ user: 'admin', server: 'localhost', password: 'secret' }, { user: 'bob' }]);
  });

  it('accepts no params, empty params and method names with . : /', () => {
    expect(parse_method_call('<methodCall><methodName>status</methodName></methodCall>')).toEqual({
      method: 'status',
      params: [],
    });
    expect(parse_method_call(call('system.listMethods')).params).toEqual([]);
    expect(parse_method_call(call('a:b/c_d.e')).method).toBe('a:b/c_d.e');
  });

  it('reads scalars: untyped text, int/i4/i8 with signs, booleans, doubles, dates', () => {
    const { params } = parse_method_call(
      call(
        'x',
        '',
        '<int>-12</int>',
        '<i4>+7</i4>',
        '<i8>9007199254740991</i8>',
        '<boolean>0</boolean>',
        '<double>-0.5</double>',
        '<double>1e+20</double>',
        '<dateTime.iso8601>1998-07-17T14:08:55Z</dateTime.iso8601>',
        '<string></string>',
        '<int>-0</int>',
      ),
    );
    expect(params).toEqual([
      '',
      -12,
      7,
      9007199254740991,
      false,
      -0.5,
      1e20,
      new Date('1998-07-17T14:08:55Z'),
      '',
      0,
    ]);
    expect(Object.is(params[9], 0)).toBe(true);
    expect(parse_method_call(call('x', ' two words ')).params).toEqual([' two words ']);
    expect(parse_method_call(call('x', 'a &amp; b &lt;c&gt;')).params).toEqual(['a & b <c>']);
  });

  it('reads nested arrays and structs', () => {
    const body = call(
      'x',
      '<array><data><value><array><data><value><int>1</int></value><value>a</value></data></array></value>' +
        '<value><struct><member><name>k</name><value><array><data/></array></value></member></struct></value>' +
        '</data></array>',
    );
    expect(parse_method_call(body).params).toEqual([[[1, 'a'], { k: [] }]]);
  });

  it('keeps __proto__ as an ordinary member', () => {
    const body = call(
      'x',
      '<struct><member><name>__proto__</name><value><struct><member><name>admin</name>' +
        '<value><boolean>1</boolean></value></member></struct></value></member></struct>',
    );
    const s = parse_method_call(body).params[0] as Record<string, XmlRpcValue>;
    expect(Object.keys(s)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(s)).toBeNull();
    expect(Object.entries(s)[0]![1]).toEqual({ admin: true });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('refuses a struct naming a member twice', () => {
    const body = call(
      'x',
      '<struct><member><name>user</name><value>a</value></member>' +
        '<member><name>user</name><value>b</value></member></struct>',
    );
    const err = parseError(body);
    expect(err).toBeInstanceOf(XmlRpcDuplicateMember);
    expect((err as XmlRpcDuplicateMember).member).toBe('user');
    expect(err.message).toBe("param 1: member 'user': duplicate member");
  });

  it('refuses bad scalars, saying where', () => {
    const inStruct = (v: string) =>
      call('x', `<struct><member><name>user</name><value>${v}</value></member></struct>`);
    expect(parseError(inStruct('<int>abc</int>')).message).toBe(
      "param 1: member 'user': <int> is not an integer: 'abc'",
    );
    expect(parseError(call('x', 'a', '<int>1.5</int>')).message).toBe(
      "param 2: <int> is not an integer: '1.5'",
    );
    expect(parseError(call('x', '<i8>9007199254740993</i8>')).message).toMatch(/out of range/);
    expect(parseError(call('x', '<int></int>')).message).toMatch(/not an integer/);
    expect(parseError(call('x', '<boolean>true</boolean>')).message).toMatch(/0 or 1/);
    expect(parseError(call('x', '<double>NaN</double>')).message).toMatch(/finite/);
    expect(parseError(call('x', '<double>1,5</double>')).message).toMatch(/finite/);
    expect(parseError(call('x', '<dateTime.iso8601>20230230T00:00:00</dateTime.iso8601>')).message).toMatch(
      /not a valid date/,
    );
    expect(parseError(call('x', '<dateTime.iso8601>yesterday</dateTime.iso8601>')).message).toMatch(
      /YYYYMMDDTHH:MM:SS/,
    );
    expect(parseError(call('x', '<base64>a*b=</base64>')).message).toMatch(/not base64/);
    expect(parseError(call('x', '<array><data><value><nil>x</nil></value></data></array>')).message).toBe(
      'param 1: item 1: <nil/> must be empty',
    );
  });

  it('refuses an unknown type and malformed structure', () => {
    expect(parseError(call('x', '<float>1</float>')).message).toBe('param 1: unknown type <float>');
    expect(parseError(call('x', '<int>1</int><int>2</int>')).message).toMatch(/more than one type/);
    expect(parseError(call('x', 'text<int>1</int>')).message).toMatch(/unexpected text/);
    expect(parseError(call('x', '<string><b>x</b></string>')).message).toMatch(/must not contain <b>/);
    expect(parseError(call('x', '<struct><member><name>a</name></member></struct>')).message).toMatch(
      /one <name> and one <value>/,
    );
    expect(parseError(call('x', '<array><value>1</value></array>')).message).toMatch(/one <data>/);
    expect(
      parseError('<methodCall><methodName>x</methodName><params><param>1</param></params></methodCall>')
        .message,
    ).toMatch(/unexpected text/);
    expect(
      parseError('<methodCall><methodName>x</methodName><params><value>1</value></params></methodCall>')
        .message,
    ).toMatch(/not <param>/);
  });

  it('refuses what is not XML, or not a methodCall', () => {
    expect(parseError('').message).toMatch(/XML refused/);
    expect(parseError('{"user":"bob"}').message).toMatch(/XML refused/);
    expect(parseError('<methodCall><methodName>x</methodName>').message).toMatch(/XML refused/);
    expect(parseError('<methodResponse><params/></methodResponse>').message).toBe(
      'the root element is <methodResponse>, not <methodCall>',
    );
    expect(parseError('<methodCall><params/></methodCall>').message).toBe(
      '<methodCall> must hold one <methodName>',
    );
    expect(parseError('<methodCall><methodName></methodName></methodCall>').message).toBe(
      "bad method name: ''",
    );
    expect(parseError('<methodCall><methodName>a b</methodName></methodCall>').message).toMatch(
      /bad method name/,
    );
    expect(parseError('<methodCall><methodName>x</methodName><foo/></methodCall>').message).toMatch(
      /unexpected <foo>/,
    );
    expect(parseError("<?xml version='1.0' encoding='ISO-8859-1'?><methodCall/>").message).toMatch(
      /XML refused/,
    );
  });

  it('refuses a DOCTYPE (billion laughs) without expanding it', () => {
    const lol = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...Array.from(
        { length: 9 },
        (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
      ),
      ']>',
      '<methodCall><methodName>x</methodName><params><param><value>&lol9;</value></param></params></methodCall>',
    ].join('\n');
    const err = parseError(lol);
    expect(err.message).toMatch(/DOCTYPE/);
    expect(err.message.length).toBeLessThan(200);
    // An undeclared entity is refused too.
    expect(parseError(call('x', '&lol;')).message).toMatch(/XML refused/);
  });

  it('refuses nesting beyond the depth limit', () => {
    const depth = 40;
    const body = call('x', '<array><data><value>'.repeat(depth) + '</value></data></array>'.repeat(depth));
    expect(parseError(body).message).toMatch(/XML refused/);
  });
});

describe('encode_response', () => {
  it('round-trips every type', () => {
    const value: XmlRpcValue = {
      int: 42,
      neg: -(2 ** 31),
      i8: 2 ** 31,
      big: -Number.MAX_SAFE_INTEGER,
      double: 0.1,
      tiny: 1e-7,
      t: true,
      f: false,
      s: 'a & b <c> "d" \'e\'\r\n\tü 😀',
      empty: '',
      date: new Date(Date.UTC(2024, 1, 29, 23, 59, 58)),
      bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
      nothing: null,
      list: [1, 'two', [3, []], { four: 4 }],
      nested: { deeper: { deepest: [true] } },
    };
    const back = roundTrip(value);
    expect(back).toEqual(value);
    expect(roundTrip('x')).toBe('x');
    expect(roundTrip([])).toEqual([]);
    expect(roundTrip(null)).toBeNull();
  });

  it('writes the expected XML', () => {
    expect(encode_response({ n: 1, d: new Date(Date.UTC(1998, 6, 17, 14, 8, 55)) })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse><params><param><value><struct>' +
        '<member><name>n</name><value><int>1</int></value></member>' +
        '<member><name>d</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member>' +
        '</struct></value></param></params></methodResponse>',
    );
    expect(encode_response(2 ** 31)).toContain('<i8>2147483648</i8>');
    expect(encode_response(2 ** 53)).toContain('<double>9007199254740992</double>');
    expect(encode_response(-0)).toContain('<int>0</int>');
    expect(encode_response('a\rb<&>')).toContain('<string>a&#13;b&lt;&amp;&gt;</string>');
  });

  it('refuses what XML-RPC cannot carry', () => {
    expect(() => encode_response(Number.NaN)).toThrow(/NaN/);
    expect(() => encode_response(Number.POSITIVE_INFINITY)).toThrow(/Infinity/);
    expect(() => encode_response('bell\u0007')).toThrow(/U\+0007/);
    expect(() => encode_response({ 'k\u0000': 1 })).toThrow(/U\+0000/);
    expect(() => encode_response('\uD800 lone')).toThrow(/U\+D800/);
    expect(() => encode_response(new Date(Number.NaN))).toThrow(/Date/);
    expect(() => encode_response(new Map() as unknown as XmlRpcValue)).toThrow(/Map/);
    expect(() => encode_response(undefined as unknown as XmlRpcValue)).toThrow(/undefined/);
    const cyclic: XmlRpcValue[] = [];
    cyclic.push(cyclic);
    expect(() => encode_response(cyclic)).toThrow(/contains itself/);
    // A pair of surrogates is one valid character.
    expect(encode_response('😀')).toContain('<string>😀</string>');
  });

  it('is decoded by Python xmlrpc.client', () => {
    const xml = encode_response({
      user: 'bob',
      n: 5,
      big: 2 ** 40,
      pi: 3.5,
      ok: true,
      none: null,
      when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      raw: new Uint8Array([104, 105]),
      text: 'a & <b>\r\n',
      list: [1, ['x']],
    });
    const out = python(
      xml,
      'v = xmlrpc.client.loads(sys.stdin.read(), use_builtin_types=True)\nprint(repr(v))',
    );
    expect(out).toBe(
      "(({'user': 'bob', 'n': 5, 'big': 1099511627776, 'pi': 3.5, 'ok': True, 'none': None, " +
        "'when': datetime.datetime(2024, 1, 2, 3, 4, 5), 'raw': b'hi', 'text': 'a & <b>\\r\\n', " +
        "'list': [1, ['x']]},), None)",
    );
  });
});

describe('encode_fault', () => {
  it('has the faultCode/faultString shape', () => {
    expect(encode_fault(-118, 'User <bob> not found')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse><fault><value><struct>' +
        '<member><name>faultCode</name><value><int>-118</int></value></member>' +
        '<member><name>faultString</name><value><string>User &lt;bob&gt; not found</string></value></member>' +
        '</struct></value></fault></methodResponse>',
    );
    expect(encode_fault(1, 'bad\u0000char')).toContain('<string>bad\uFFFDchar</string>');
    expect(() => encode_fault(1.5, 'x')).toThrow(RangeError);
  });

  it('is decoded by Python xmlrpc.client as a Fault', () => {
    const out = python(
      encode_fault(-118, 'User bob & co not found'),
      'try:\n  xmlrpc.client.loads(sys.stdin.read())\nexcept xmlrpc.client.Fault as f:\n  print(f.faultCode, repr(f.faultString))',
    );
    expect(out).toBe("-118 'User bob & co not found'");
  });
});
