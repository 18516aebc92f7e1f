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
-- Returns {1, watermark, refused features, keys (by index) whose list outgrew ARGV[5]} or {0, current}.
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then
  return {0, current}
end

local cap = tonumber(ARGV[4])
local compactAt = tonumber(ARGV[5])
local refused = 0
local long = {}
local i = 6
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  if op == 'L' then
    if redis.call('RPUSH', key, ARGV[i + 2]) == compactAt then
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
  else
    return redis.error_reply('apply-batch: unknown op ' .. tostring(op))
  end
end

redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {1, ARGV[3], refused, long}
