-- Applies a list of write units, all or nothing: every unit's guard and checks are verified first; if
-- any fails, nothing is written and the statuses say which and why. All keys of one call share a hash
-- tag on Redis Cluster (the caller groups units by tag); on a single node one call may carry them all.
--
-- A guard makes a unit exactly-once:
--   N                                    none (idempotent ops only)
--   A key field first last expected      "after": applies iff the offset stored in HASH key.field is below
--                                        `first` (none of the unit's messages is in yet) and, unless
--                                        expected is -2, equals `expected` (compare-and-set: a lower one
--                                        means the state lost writes); stores `last`
--   S key field seq                      applies iff the sequence stored in key.field is below `seq`; stores it
--   C key field first last expected seqField  "after", and numbers the unit: seq = HINCRBY key seqField 1
--   X key seqField                       always applies, numbered like C (a commit no offset covers)
-- Ops (keys by index into KEYS):
--   L key blob ttl_ms       RPUSH the blob, PEXPIRE the list; reports the key when its length reaches a
--                           multiple of ARGV[1] (time to compact)
--   I key field n           HINCRBY
--   N key field value       HSETNX
--   M key member            SADD
--   F key field totals      admit a feature into a registry HASH capped at ARGV[2] features; a refusal
--                           is counted in HASH totals field "of"
--   T key registry field n  HINCRBY key "f:"..field n, only if the registry admitted the feature
--   H key pairs at_ms       join records into a join HASH: pairs is a MessagePack array [id, record, …]
--                           (one argument for thousands), each HSETNX (the first record of an id wins and
--                           a claimed one stays claimed); PEXPIREAT at_ms
--   P zset member           ZREM a waiting label; checked: it must still wait
--   Q zset score member     ZADD a waiting label
--   W key blob              HSET key <the unit's seq> blob (a label commit's journal entry)
--   D key field             HDEL
--   G key field n           HSET key field n if n is greater than what it holds (a model's last-seen
--                           time per role: the latest write wins whatever order batches land in)
--   R key field value cap   HSETNX into a HASH capped at `cap` fields (the fleet's model registry); a
--                           refusal is reported (the field, in the fifth reply)
--   E key field             raise a counter to the next multiple of 2^32 (a label partition's journal
--                           seq after its state regressed: entries numbered after it sort after any
--                           entry a model may already have applied, whatever the regression lost)
-- ARGV[3] = the number of units; then per unit: its guard, its op count, its ops.
-- Returns {statuses, infos, long keys (indexes), refused features, refused registrations}: status 1 =
-- applied (info: the unit's seq when numbered), 0 = refused by its guard (info: the stored value),
-- 2 = a check failed (info: the op's position).

local ARITY = {L = 4, I = 4, N = 4, M = 3, F = 4, T = 5, H = 4, P = 3, Q = 4, W = 3, D = 3, G = 4, R = 5, E = 3}
local GUARD_ARITY = {N = 1, A = 6, S = 4, C = 7, X = 3}
local n = #ARGV
local units = tonumber(ARGV[3])

local function stored(key, field)
  return tonumber(redis.call('HGET', KEYS[tonumber(key)], field) or '-1')
end

-- Phase 1: guards and checks, nothing written.
local statuses, infos, starts = {}, {}, {}
local failed = false
local i = 4
for u = 1, units do
  local guard = ARGV[i]
  local status, info = 1, ''
  if guard == 'A' or guard == 'C' then
    local current = stored(ARGV[i + 1], ARGV[i + 2])
    local expected = tonumber(ARGV[i + 5])
    if current >= tonumber(ARGV[i + 3]) or (expected ~= -2 and current ~= expected) then status, info = 0, tostring(current) end
  elseif guard == 'S' then
    local current = stored(ARGV[i + 1], ARGV[i + 2])
    if current >= tonumber(ARGV[i + 3]) then status, info = 0, tostring(current) end
  elseif not GUARD_ARITY[guard] then
    return redis.error_reply('apply-units: unknown guard ' .. tostring(guard))
  end
  i = i + GUARD_ARITY[guard]
  local ops = tonumber(ARGV[i])
  i = i + 1
  starts[u] = i
  for _ = 1, ops do
    local op = ARGV[i]
    if op == 'P' and status == 1 and not redis.call('ZSCORE', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]) then
      status, info = 2, tostring(i)
    end
    local arity = ARITY[op]
    if not arity then return redis.error_reply('apply-units: unknown op ' .. tostring(op)) end
    i = i + arity
  end
  statuses[u], infos[u] = status, info
  if status ~= 1 then failed = true end
end
if failed then return {statuses, infos, {}, 0, {}} end

-- Phase 2: write.
local compactAt = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local long, refused, refusedFields = {}, 0, {}
i = 4
for u = 1, units do
  local guard = ARGV[i]
  local seq = ''
  if guard == 'A' or guard == 'C' then
    redis.call('HSET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 4])
    if guard == 'C' then seq = redis.call('HINCRBY', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 6], 1) end
  elseif guard == 'S' then
    redis.call('HSET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3])
  elseif guard == 'X' then
    seq = redis.call('HINCRBY', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], 1)
  end
  infos[u] = tostring(seq)
  i = starts[u]
  local ops = tonumber(ARGV[i - 1])
  for _ = 1, ops do
    local op = ARGV[i]
    local key = KEYS[tonumber(ARGV[i + 1])]
    if op == 'L' then
      if redis.call('RPUSH', key, ARGV[i + 2]) % compactAt == 0 then long[#long + 1] = ARGV[i + 1] end
      redis.call('PEXPIRE', key, ARGV[i + 3])
    elseif op == 'I' then
      redis.call('HINCRBY', key, ARGV[i + 2], ARGV[i + 3])
    elseif op == 'N' then
      redis.call('HSETNX', key, ARGV[i + 2], ARGV[i + 3])
    elseif op == 'M' then
      redis.call('SADD', key, ARGV[i + 2])
    elseif op == 'F' then
      if redis.call('HEXISTS', key, ARGV[i + 2]) == 0 then
        if redis.call('HLEN', key) < cap then
          redis.call('HSET', key, ARGV[i + 2], '1')
        else
          refused = refused + 1
          redis.call('HINCRBY', KEYS[tonumber(ARGV[i + 3])], 'of', 1)
        end
      end
    elseif op == 'T' then
      if redis.call('HEXISTS', KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3]) == 1 then
        redis.call('HINCRBY', key, 'f:' .. ARGV[i + 3], ARGV[i + 4])
      end
    elseif op == 'H' then
      local records = cmsgpack.unpack(ARGV[i + 2])
      for j = 1, #records, 2 do
        redis.call('HSETNX', key, records[j], records[j + 1])
      end
      redis.call('PEXPIREAT', key, ARGV[i + 3])
    elseif op == 'P' then
      redis.call('ZREM', key, ARGV[i + 2])
    elseif op == 'Q' then
      redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3])
    elseif op == 'W' then
      redis.call('HSET', key, seq, ARGV[i + 2])
    elseif op == 'D' then
      redis.call('HDEL', key, ARGV[i + 2])
    elseif op == 'G' then
      if tonumber(redis.call('HGET', key, ARGV[i + 2]) or '-1') < tonumber(ARGV[i + 3]) then redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3]) end
    elseif op == 'R' then
      if redis.call('HEXISTS', key, ARGV[i + 2]) == 0 then
        if redis.call('HLEN', key) < tonumber(ARGV[i + 4]) then
          redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
        else
          refusedFields[#refusedFields + 1] = ARGV[i + 2]
        end
      end
    elseif op == 'E' then
      local epoch = 4294967296
      local current = tonumber(redis.call('HGET', key, ARGV[i + 2]) or '0')
      redis.call('HSET', key, ARGV[i + 2], string.format('%d', (math.floor(current / epoch) + 1) * epoch))
    end
    i = i + ARITY[op]
  end
end
return {statuses, infos, long, refused, refusedFields}
