-- After Kafka acknowledged an alert event: remember it as published and take it off the outbox, in one
-- step, so a recovering worker never publishes it again. The memory of published events is kept for
-- a week (ZSET scored by time), far longer than any outbox entry can wait.
-- KEYS[1] = outbox, KEYS[2] = published zset; ARGV[1] = the outbox entry, ARGV[2] = "id:state",
-- ARGV[3] = now (ms), ARGV[4] = how long to remember (ms).
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[4]))
return redis.call('LREM', KEYS[1], 1, ARGV[1])
