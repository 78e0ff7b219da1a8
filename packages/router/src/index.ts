export { EjabberdHooks, type FoldHook, GLOBAL, type RunHook } from './ejabberd_hooks.js';
export { EjabberdLocal } from './ejabberd_local.js';
export { EjabberdNode, type NodeOptions } from './ejabberd_node.js';
export { describePacket, EjabberdRouter, type FilterAcc } from './ejabberd_router.js';
export { S2sDisabled, type S2sManager } from './ejabberd_s2s.js';
export { EjabberdSm, type Session, type SessionProcess, type Sid } from './ejabberd_sm.js';
export {
  GenIqHandler,
  type IqComponent,
  type IqDiscipline,
  type IqHandler,
} from './gen_iq_handler.js';
export {
  GenMod,
  type GenModule,
  ModuleContext,
  type ModuleOption,
  type ModuleRegistrations,
} from './gen_mod.js';
export { type Iq, type IqType, iq_error, iq_query_info, iq_result, iq_to_xml, sub_els } from './iq.js';
export { consoleLogger, type Logger, type LogLevel, MemoryLogger } from './logger.js';
export { MemoryCluster } from './memory_cluster.js';
export {
  type ClusterTransport,
  type GlobalRouteTable,
  MemoryGlobalRouteTable,
  type RouteProcess,
} from './route_table.js';
export {
  ERR_BAD_REQUEST,
  ERR_FEATURE_NOT_IMPLEMENTED,
  ERR_FORBIDDEN,
  ERR_INTERNAL_SERVER_ERROR,
  ERR_ITEM_NOT_FOUND,
  ERR_NOT_ALLOWED,
  ERR_REMOTE_SERVER_NOT_FOUND,
  ERR_RESOURCE_CONSTRAINT,
  ERR_SERVICE_UNAVAILABLE,
  error_condition,
  make_error_reply,
  NS_STANZAS,
  STANZA_ERROR_TYPES,
  type StanzaErrorCondition,
  type StanzaErrorType,
  stanza_error,
  stanza_type,
} from './stanza_errors.js';
export { PacketTrace } from './trace.js';
