-- Labels claim their predictions' join records (join/record.ts): a record found unclaimed becomes
-- "L" .. source hash .. record, in the same hash field, so that a second label of the same prediction
-- sees it taken (a duplicate) and the same label replayed after a crash sees its own claim and the
-- record (it joins again: its outcome was never committed). Claims never expire on their own; the slot's
-- hash does.
-- KEYS = join hashes (of one shard per group, newest slot first).
-- ARGV[1] = the number of groups; per group: its first key index, its key count, its label count, then
-- per label: the prediction id and its source hash (8 bytes).
-- Returns per label, in order: status (0 no record, 1 claimed now, 2 claimed before by this source,
-- 3 claimed by another source) and the record ('' when none).
local out = {}
local i = 2
for _ = 1, tonumber(ARGV[1]) do
  local first, count, labels = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  i = i + 3
  for _ = 1, labels do
    local id, source = ARGV[i], ARGV[i + 1]
    i = i + 2
    -- Every live slot is looked at: a claim anywhere decides (a producer's retry may have put a second
    -- record of the id in a newer slot); else the newest record is claimed.
    local status, record, unclaimed = 0, '', nil
    for k = first, first + count - 1 do
      local value = redis.call('HGET', KEYS[k], id)
      if value then
        if string.byte(value, 1) == 76 then -- "L": claimed
          if string.sub(value, 2, 9) == source then
            status, record = 2, string.sub(value, 10)
          else
            status, record = 3, ''
          end
          break
        elseif not unclaimed then
          unclaimed = k
          record = value
        end
      end
    end
    if status == 0 and unclaimed then
      redis.call('HSET', KEYS[unclaimed], id, 'L' .. source .. record)
      status = 1
    end
    out[#out + 1] = status
    out[#out + 1] = record
  end
end
return out
