import { describe, expect, it } from 'vitest';
import { in_state_change, out_state_change } from '../src/modules/mod_roster.js';
import type { Ask, Subscription } from '../src/storage/storage.js';

/** RFC 6121 Appendix A's state names, as (subscription, ask). */
const STATES: Record<string, { subscription: Subscription; ask: Ask }> = {
  None: { subscription: 'none', ask: 'none' },
  'None+PendingOut': { subscription: 'none', ask: 'out' },
  'None+PendingIn': { subscription: 'none', ask: 'in' },
  'None+PendingOut+In': { subscription: 'none', ask: 'both' },
  To: { subscription: 'to', ask: 'none' },
  'To+PendingIn': { subscription: 'to', ask: 'in' },
  From: { subscription: 'from', ask: 'none' },
  'From+PendingOut': { subscription: 'from', ask: 'out' },
  Both: { subscription: 'both', ask: 'none' },
};

type Table = Record<string, string | null>;

/** Every state → the state after the stanza, or null for "no state change" (Appendix A). */
const OUT: Record<'subscribe' | 'unsubscribe' | 'subscribed' | 'unsubscribed', Table> = {
  // A.2.1
  subscribe: {
    None: 'None+PendingOut',
    'None+PendingOut': null,
    'None+PendingIn': 'None+PendingOut+In',
    'None+PendingOut+In': null,
    To: null,
    'To+PendingIn': null,
    From: 'From+PendingOut',
    'From+PendingOut': null,
    Both: null,
  },
  // A.2.2
  unsubscribe: {
    None: null,
    'None+PendingOut': 'None',
    'None+PendingIn': null,
    'None+PendingOut+In': 'None+PendingIn',
    To: 'None',
    'To+PendingIn': 'None+PendingIn',
    From: null,
    'From+PendingOut': 'From',
    Both: 'From',
  },
  // A.3.1
  subscribed: {
    None: null,
    'None+PendingOut': null,
    'None+PendingIn': 'From',
    'None+PendingOut+In': 'From+PendingOut',
    To: null,
    'To+PendingIn': 'Both',
    From: null,
    'From+PendingOut': null,
    Both: null,
  },
  // A.3.2
  unsubscribed: {
    None: null,
    'None+PendingOut': null,
    'None+PendingIn': 'None',
    'None+PendingOut+In': 'None+PendingOut',
    To: null,
    'To+PendingIn': 'To',
    From: 'None',
    'From+PendingOut': 'None+PendingOut',
    Both: 'To',
  },
};

const IN: typeof OUT = {
  // A.4.1
  subscribe: {
    None: 'None+PendingIn',
    'None+PendingOut': 'None+PendingOut+In',
    'None+PendingIn': null,
    'None+PendingOut+In': null,
    To: 'To+PendingIn',
    'To+PendingIn': null,
    From: null,
    'From+PendingOut': null,
    Both: null,
  },
  // A.4.2
  unsubscribe: {
    None: null,
    'None+PendingOut': null,
    'None+PendingIn': 'None',
    'None+PendingOut+In': 'None+PendingOut',
    To: null,
    'To+PendingIn': 'To',
    From: 'None',
    'From+PendingOut': 'None+PendingOut',
    Both: 'To',
  },
  // A.5.1
  subscribed: {
    None: null,
    'None+PendingOut': 'To',
    'None+PendingIn': null,
    'None+PendingOut+In': 'To+PendingIn',
    To: null,
    'To+PendingIn': null,
    From: null,
    'From+PendingOut': 'Both',
    Both: null,
  },
  // A.5.2
  unsubscribed: {
    None: null,
    'None+PendingOut': 'None',
    'None+PendingIn': null,
    'None+PendingOut+In': 'None+PendingIn',
    To: 'None',
    'To+PendingIn': 'None+PendingIn',
    From: null,
    'From+PendingOut': 'From',
    Both: 'From',
  },
};

describe('mod_roster subscription states (RFC 6121 Appendix A)', () => {
  for (const [direction, table, fn] of [
    ['outbound', OUT, out_state_change],
    ['inbound', IN, in_state_change],
  ] as const) {
    for (const [type, rows] of Object.entries(table)) {
      it(`${direction} ${type}: every one of the nine states`, () => {
        for (const [from, to] of Object.entries(rows)) {
          const got = fn(STATES[from], type as keyof typeof OUT);
          expect({ from, to: got }).toEqual({ from, to: to === null ? undefined : STATES[to] });
        }
      });
    }
  }
});
