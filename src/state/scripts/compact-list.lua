-- Replaces the first ARGV[1] elements of a bucket list by their merge (ARGV[2]), if they are still the
-- ones the compactor read: writers only append, so the prefix is stable unless another compactor got
-- there first, which the SHA-1 of the first and last merged element tells (then nothing is written).
-- KEYS[1] = list; ARGV[1] = count, ARGV[2] = merged blob, ARGV[3] = sha1 of element 0,
-- ARGV[4] = sha1 of element count-1. Returns 1 when compacted, 0 when the list had moved on.
local count = tonumber(ARGV[1])
if redis.call('LLEN', KEYS[1]) < count then return 0 end
if redis.sha1hex(redis.call('LINDEX', KEYS[1], 0)) ~= ARGV[3] then return 0 end
if redis.sha1hex(redis.call('LINDEX', KEYS[1], count - 1)) ~= ARGV[4] then return 0 end
-- Trimming every element deletes the key and its TTL with it: keep the TTL across.
local ttl = redis.call('PTTL', KEYS[1])
redis.call('LTRIM', KEYS[1], count, -1)
redis.call('LPUSH', KEYS[1], ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
