export { KeyLayout, modelKey, type Resolution } from './keys.ts';
export { isJoinedMark, RedisStateStore, type BatchResult, type BatchWrite, type JoinEntry, type JoinHit, type LabelWrite, type LabelWriteResult, type ModelEntry, type StoreOptions, type Totals } from './redis-store.ts';
