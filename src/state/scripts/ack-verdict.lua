-- After Kafka acknowledged a verdict event: mark its record published (the record keeps its TTL; a record
-- gone meanwhile is not recreated). KEYS[1] = verdict hash; ARGV[1] = now (ms). Returns 1 when marked.
if redis.call('HEXISTS', KEYS[1], 'event') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'published_at', ARGV[1])
return 1
