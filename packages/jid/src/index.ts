export type { JidPart } from './error.js';
export { JidError } from './error.js';
export type { JidFields } from './jid.js';
export { bare, equal, format, format as toString, isBare, Jid, parse } from './jid.js';
export type { LJID } from './jlib.js';
export {
  jid_to_string,
  make,
  nameprep,
  nodeprep,
  remove_resource,
  replace_resource,
  resourceprep,
  string_to_jid,
  tolower,
} from './jlib.js';
export { MAX_PART_BYTES } from './precis.js';
