-- The events of a model's outbox old enough, by Redis's clock, to be a stopped worker's leftovers, for
-- the caller to publish, only if it holds the model's lease: one publisher per model, and no worker's
-- clock (skewed, or paused in a GC or a stall) decides.
-- KEYS[1] = lease, KEYS[2] = outbox; ARGV[1] = worker id, ARGV[2] = minimum age (ms).
-- Returns the entries (as stored) queued at least ARGV[2] ms ago; entries without a time are old.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local out = {}
for _, entry in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local queued = tonumber(string.match(entry, '^(%d+)|'))
  if queued == nil or now - queued >= tonumber(ARGV[2]) then out[#out + 1] = entry end
end
return out
