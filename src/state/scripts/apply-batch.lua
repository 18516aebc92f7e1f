-- Applies one partition batch's deltas and moves that partition's offset watermark, atomically.
-- Exactly once: the write happens only if the watermark still is what the writer read before it
-- aggregated (compare-and-set). A redelivered batch, or a zombie worker after a rebalance, finds a
-- different watermark and writes nothing; it re-reads the watermark and skips what is already in.
--
-- KEYS[1] = watermark hash; KEYS[2..] = keys the ops refer to by index.
-- ARGV[1] = watermark field, ARGV[2] = expected watermark ("" when none), ARGV[3] = new watermark,
-- ARGV[4] = feature cap per model, ARGV[5] = list length that asks for compaction,
-- ARGV[6..] = ops, each an opcode then its arguments:
--   L key blob ttl_ms       RPUSH the blob, PEXPIRE the list
--   I key field n           HINCRBY
--   N key field value       HSETNX
--   F key field             admit a feature into a capped registry HASH (counts a refusal)
--   T key registry field n  HINCRBY key "f:"..field n, only if the registry admitted the feature
--   H key pairs at_ms       join records into a join HASH: pairs is a MessagePack array [id, record, …]
--                           (one argument for thousands), each HSETNX (the first with an id wins, and a
--                           labeled record is never reset, so a label counts once); PEXPIREAT at_ms
--   J key id                mark a join record labeled ("L", TTL kept); checked: it must exist, unlabeled
--   P zset member           ZREM a pending label; checked: it must still be pending
--   Q zset score member     ZADD a pending label
-- Checked ops are verified before anything is written: a failed check (another writer joined that
-- prediction or resolved that label since it was read) writes nothing and returns {2, watermark, op}.
-- An empty ARGV[1] writes without a watermark (retries of pending labels, which no offset covers).
-- Returns {1, watermark, refused features, keys (by index) whose list outgrew ARGV[5]} or {0, current}.
local current = ''
if ARGV[1] ~= '' then
  current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
  if current ~= ARGV[2] then
    return {0, current}
  end
end

local ARITY = {L = 4, I = 4, N = 4, F = 3, T = 5, H = 4, J = 3, P = 3, Q = 4}
local n = #ARGV
local i = 6
while i <= n do
  local op = ARGV[i]
  if op == 'J' then
    local value = redis.call('HGET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2])
    if not value or value == 'L' then
      return {2, current, i}
    end
  elseif op == 'P' then
    if not redis.call('ZSCORE', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]) then
      return {2, current, i}
    end
  end
  local arity = ARITY[op]
  if not arity then
    return redis.error_reply('apply-batch: unknown op ' .. tostring(op))
  end
  i = i + arity
end

local cap = tonumber(ARGV[4])
local compactAt = tonumber(ARGV[5])
local refused = 0
local long = {}
i = 6
while i <= n do
  local op = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  if op == 'L' then
    if redis.call('RPUSH', key, ARGV[i + 2]) % compactAt == 0 then
      long[#long + 1] = ARGV[i + 1]
    end
    redis.call('PEXPIRE', key, ARGV[i + 3])
    i = i + 4
  elseif op == 'I' then
    redis.call('HINCRBY', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'N' then
    redis.call('HSETNX', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'F' then
    if redis.call('HEXISTS', key, ARGV[i + 2]) == 0 then
      if redis.call('HLEN', key) < cap then
        redis.call('HSET', key, ARGV[i + 2], '1')
      else
        refused = refused + 1
      end
    end
    i = i + 3
  elseif op == 'T' then
    if redis.call('HEXISTS', KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3]) == 1 then
      redis.call('HINCRBY', key, 'f:' .. ARGV[i + 3], ARGV[i + 4])
    end
    i = i + 5
  elseif op == 'H' then
    local records = cmsgpack.unpack(ARGV[i + 2])
    for j = 1, #records, 2 do
      redis.call('HSETNX', key, records[j], records[j + 1])
    end
    redis.call('PEXPIREAT', key, ARGV[i + 3])
    i = i + 4
  elseif op == 'J' then
    redis.call('HSET', key, ARGV[i + 2], 'L')
    i = i + 3
  elseif op == 'P' then
    redis.call('ZREM', key, ARGV[i + 2])
    i = i + 3
  elseif op == 'Q' then
    redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  else
    return redis.error_reply('apply-batch: unknown op ' .. tostring(op))
  end
end

if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return {1, ARGV[3], refused, long}
