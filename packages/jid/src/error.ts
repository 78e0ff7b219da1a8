/** The three slots of a JID, named as RFC 7622 names them. */
export type JidPart = 'localpart' | 'domainpart' | 'resourcepart';

/** Longest JID kept verbatim in an error message; the `jid` property always has all of it. */
const MESSAGE_JID_LIMIT = 80;

/**
 * A JID that RFC 7622 rejects. The message names the JID and the rule it breaks:
 *
 *   invalid JID "@example.com": empty localpart before '@'
 *
 * `jid` is the offending input (for `make`-style calls, its parts joined as `jid_to_string` would),
 * `part` the slot at fault and `reason` the rule alone.
 */
export class JidError extends Error {
  override name = 'JidError';
  readonly jid: string;
  readonly part: JidPart;
  readonly reason: string;

  constructor(jid: string, part: JidPart, reason: string) {
    const shown =
      jid.length > MESSAGE_JID_LIMIT
        ? `${JSON.stringify(jid.slice(0, MESSAGE_JID_LIMIT))}... (${jid.length} characters)`
        : JSON.stringify(jid);
    super(`invalid JID ${shown}: ${reason}`);
    this.jid = jid;
    this.part = part;
    this.reason = reason;
  }
}
