-- Writes one model's alert states and queues its alert events, only while the caller still holds the
-- model's lease (a fencing check: a worker that lost its lease while paused must not write).
-- KEYS[1] = lease, KEYS[2] = alert-state hash, KEYS[3] = outbox list.
-- ARGV[1] = worker id, then triples: field, state JSON ("" deletes), event JSON ("" for none).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 3 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[2], ARGV[i])
  else
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
  if ARGV[i + 2] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[i + 2]) end
end
return 1
