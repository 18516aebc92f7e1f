-- One worker's evaluation leases for this tick. Each model is evaluated by exactly one worker: the one
-- holding its lease key. A worker renews what it holds up to its fair share, gives back what exceeds
-- it (so a worker that joins gets work), and takes free leases until it holds its share. A dead
-- worker's leases expire after the TTL and are taken by the others within a tick or two.
-- KEYS = lease keys; ARGV[1] = worker id, ARGV[2] = TTL ms, ARGV[3] = fair share.
-- Returns the 1-based indexes of the keys this worker holds after the call.
local me, ttl, share = ARGV[1], ARGV[2], tonumber(ARGV[3])
local held = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == me then
    if #held < share then
      redis.call('PEXPIRE', KEYS[i], ttl)
      held[#held + 1] = i
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
for i = 1, #KEYS do
  if #held >= share then break end
  if redis.call('SET', KEYS[i], me, 'NX', 'PX', ttl) then held[#held + 1] = i end
end
return held
