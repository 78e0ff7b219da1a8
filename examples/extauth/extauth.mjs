#!/usr/bin/env node
// tsjabberd / ejabberd external authentication example (auth_method: external), in plain Node ESM.
//
// The same protocol as extauth.py: a request is a 2-byte big-endian length followed by the line
// (`auth:User:Server:Password`, `isuser:User:Server`, ...); the answer is a 2-byte length (always 2)
// and a 2-byte result, 1 for success and 0 for failure. The line is split on ':' into at most 4
// parts, so a password may contain ':'. This example accepts a fixed table of users.

/** user@server -> password (changed by setpass, tryregister and removeuser while the script runs). */
const users = new Map([
  ['alice@localhost', 'wonderland'],
  ['bob@localhost', 'builder'],
  ['carol@localhost', 'pa:ss:word'],
]);

/** Splits on ':' into at most `n` parts: the last one is the rest of the line. */
function split(line, n) {
  const parts = [];
  let rest = line;
  while (parts.length < n - 1) {
    const i = rest.indexOf(':');
    if (i < 0) break;
    parts.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  parts.push(rest);
  return parts;
}

function answer([command, user, server, password]) {
  const key = `${user}@${server}`;
  switch (command) {
    case 'auth':
      return password !== undefined && users.get(key) === password;
    case 'isuser':
      return users.has(key);
    case 'setpass':
      if (!users.has(key) || password === undefined) return false;
      users.set(key, password);
      return true;
    case 'tryregister':
      if (users.has(key) || password === undefined) return false;
      users.set(key, password);
      return true;
    case 'removeuser':
      return users.delete(key);
    case 'removeuser3':
      return users.get(key) === password && users.delete(key);
    default:
      return false;
  }
}

let buffer = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  while (buffer.length >= 2) {
    const size = buffer.readUInt16BE(0);
    if (buffer.length < 2 + size) return;
    const line = buffer.subarray(2, 2 + size).toString('utf8');
    buffer = buffer.subarray(2 + size);
    const reply = Buffer.alloc(4);
    reply.writeUInt16BE(2, 0);
    reply.writeUInt16BE(answer(split(line, 4)) ? 1 : 0, 2);
    process.stdout.write(reply);
  }
});
// The server closed our stdin: it is stopping.
process.stdin.on('end', () => process.exit(0));
