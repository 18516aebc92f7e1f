-- Writes a candidate model's comparison state, and its verdict when one is decided, only while the
-- caller holds the model's evaluation lease (a fencing check, as alert-transitions.lua), and never over
-- a verdict already there: a candidate decided is decided. The verdict hash is the audit record and the
-- verdict's outbox at once: written here unpublished, marked published once Kafka has it (ack-verdict.lua).
-- KEYS[1] = lease, KEYS[2] = comparison state (STRING), KEYS[3] = verdict (HASH: event, published_at).
-- ARGV[1] = worker id, ARGV[2] = state JSON, ARGV[3] = its TTL (ms), ARGV[4] = verdict event JSON or "",
-- ARGV[5] = how long the verdict is kept (ms).
-- Returns 1 written, 0 the lease is not the caller's, 2 a verdict was there already (nothing written).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('HEXISTS', KEYS[3], 'event') == 1 then return 2 end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], 'event', ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
