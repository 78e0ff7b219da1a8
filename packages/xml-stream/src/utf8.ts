import { isUtf8 } from 'node:buffer';

/** Bytes in the UTF-8 sequence a lead byte starts; 0 for a continuation or invalid byte. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Decodes a UTF-8 byte stream chunk by chunk. A character split across chunks is held back (at most 3
 * bytes) until the rest arrives, so the result never depends on where the socket split the bytes.
 * Validation uses Node's SIMD `isUtf8`; `decode` returns `null` for invalid UTF-8 (overlong forms,
 * surrogates, code points above U+10FFFF, stray continuation bytes).
 */
export class Utf8StreamDecoder {
  private carry: Buffer | null = null;
  /** How many bytes the string returned by the last `decode` encodes (held-back bytes excluded). */
  decodedBytes = 0;

  /** Bytes of a character still incomplete at the end of the input so far. */
  get pending(): number {
    return this.carry === null ? 0 : this.carry.length;
  }

  reset(): void {
    this.carry = null;
  }

  /**
   * After `decode` returned `null`: the text of the valid bytes before the first invalid one, so the
   * caller can parse them before reporting the error, as if the bytes had arrived one at a time.
   */
  validPrefix = '';

  decode(chunk: Uint8Array): string | null {
    let bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let head = '';
    this.decodedBytes = 0;
    if (this.carry !== null) {
      const need = sequenceLength(this.carry[0]) - this.carry.length;
      if (bytes.length < need) {
        this.carry = Buffer.concat([this.carry, bytes]);
        return '';
      }
      const whole = Buffer.concat([this.carry, bytes.subarray(0, need)]);
      this.carry = null;
      this.decodedBytes = whole.length;
      if (!isUtf8(whole)) {
        this.validPrefix = '';
        return null;
      }
      head = whole.toString('utf8');
      bytes = bytes.subarray(need);
    }
    let end = bytes.length;
    // Find the start of the last character; hold it back if its bytes have not all arrived.
    for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
      const b = bytes[i];
      if (b < 0x80 || b > 0xbf) {
        const len = sequenceLength(b);
        if (len > end - i) {
          this.carry = Buffer.from(bytes.subarray(i));
          end = i;
        }
        break;
      }
    }
    this.decodedBytes += end;
    if (end === 0) return head;
    const body = end === bytes.length ? bytes : bytes.subarray(0, end);
    if (!isUtf8(body)) {
      this.validPrefix = head + body.toString('utf8', 0, validLength(body));
      return null;
    }
    return head + body.toString('utf8');
  }
}

/** Bytes at the start of `bytes` that form complete, valid UTF-8 (the slow path, after `isUtf8` said no). */
function validLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const len = sequenceLength(b);
    if (len === 0 || i + len > bytes.length) return i;
    if (len > 1) {
      const b1 = bytes[i + 1];
      // The second byte's range excludes overlong forms, surrogates and code points above U+10FFFF.
      const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
      const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
      if (b1 < lo || b1 > hi) return i;
      for (let k = 2; k < len; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return i;
    }
    i += len;
  }
  return i;
}

/** UTF-8 byte length of `s.slice(start, end)`, counted without building the slice. */
export function utf8Length(s: string, start: number, end: number): number {
  let n = end - start;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2; // a pair is 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}
