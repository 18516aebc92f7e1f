-- Writes one model's alert states and queues its alert events, only while the caller still holds the
-- model's lease (a fencing check: a worker that lost its lease while paused must not write). Each event
-- is queued as "<Redis time in ms>|<event>": whether it is an orphan is later judged on Redis's clock,
-- never on a worker's (outbox-orphans.lua).
-- KEYS[1] = lease, KEYS[2] = alert-state hash, KEYS[3] = outbox list.
-- ARGV[1] = worker id, then triples: field, state JSON ("" deletes), event JSON ("" for none).
-- Returns the time stamped on the queued events (ms), or 0 when the caller does not hold the lease.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 2, #ARGV, 3 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[2], ARGV[i])
  else
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
  if ARGV[i + 2] ~= '' then redis.call('RPUSH', KEYS[3], now .. '|' .. ARGV[i + 2]) end
end
return now
