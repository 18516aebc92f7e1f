-- Renews (ARGV[2] = TTL ms) or, with ARGV[2] = "0", gives back a lease, only if ARGV[1] holds it.
-- KEYS[1] = the lease. Returns 1 when the caller held it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
