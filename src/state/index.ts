export { KeyLayout, modelKey, type Resolution } from './keys.ts';
export { RedisStateStore, type BatchResult, type BatchWrite, type LabelWrite, type LabelWriteResult, type ModelEntry, type StoreOptions, type Totals } from './redis-store.ts';
