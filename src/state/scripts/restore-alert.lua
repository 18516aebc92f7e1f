-- Brings a model's alert state back in line with what its consumers saw on the alerts topic, after the
-- state regressed (the topic is compacted by incident: its last event per incident is the truth).
-- KEYS[1] = alert-state hash, KEYS[2] = published zset.
-- ARGV[1] = field, ARGV[2] = incident id, ARGV[3] = last state seen ("firing" or "resolved"),
-- ARGV[4] = the firing state JSON, ARGV[5] = now (ms).
-- firing: the field gets the incident's firing state unless it holds a state already (a newer
-- evaluation decided) or the incident's resolution was published meanwhile. resolved: the field is
-- cleared if it still holds that incident. Either way the events seen are remembered as published, so
-- an outbox entry the regression left unacknowledged is not published twice.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] == 'firing' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2] .. ':firing')
  if not current and not redis.call('ZSCORE', KEYS[2], ARGV[2] .. ':resolved') then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
    return 1
  end
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2] .. ':firing', ARGV[5], ARGV[2] .. ':resolved')
if current and string.find(current, '"incident":"' .. ARGV[2] .. '"', 1, true) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
