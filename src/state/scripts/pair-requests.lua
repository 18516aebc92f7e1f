-- Pairs the predictions a primary and its shadows made for the same request (join/plan-pairs.ts),
-- exactly once, whatever the order they arrive in and whichever partitions carry them: the second of a
-- (primary, shadow) pair to arrive completes it, atomically here, and the completion is remembered on
-- the shadow's entry as the completer's source hash, the way a label's claim is (claim-joins.lua). A
-- batch replayed after a crash finds its own entries and completions (its source) and completes the
-- same pairs again: its outcome was never committed, or the partition's watermark drops the replay
-- before it gets here. Another message of a model already in a request's entry (a producer's retry)
-- pairs nothing: the first one wins.
--
-- One hash field per request: a MessagePack array of entries {model, role, source, completer, kind,
-- value}; role "p" (primary) or "s" (shadow); completer "" until the pair is completed; kind "n"
-- (number, value as text) or "s" (class). A request's entry lives in the hash of its sent_at slot; the
-- other side's sent_at may fall in the next or previous slot, so those are looked at first.
-- KEYS = pair hashes (of one shard).
-- ARGV[1] = the number of predictions; per prediction: field, model, role, source (8 bytes), kind,
-- value, the key indexes of its own slot, the previous and the next slot, its own slot's expiry (ms).
-- Returns per prediction: the number of pairs it completes, then per pair: shadow model, shadow kind,
-- shadow value, primary model, primary kind, primary value.
local out = {}
local i = 2
for _ = 1, tonumber(ARGV[1]) do
  local field, model, role, source, kind, value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local slots = {tonumber(ARGV[i + 6]), tonumber(ARGV[i + 7]), tonumber(ARGV[i + 8])}
  local expiresAt = ARGV[i + 9]
  i = i + 10

  local at, entries = slots[1], {}
  for _, k in ipairs(slots) do
    local stored = redis.call('HGET', KEYS[k], field)
    if stored then
      at, entries = k, cmsgpack.unpack(stored)
      break
    end
  end

  local mine, primary
  for _, entry in ipairs(entries) do
    if entry[1] == model then mine = entry end
    if entry[2] == 'p' and not primary then primary = entry end
  end

  local done = {}
  local changed = false
  if mine and mine[3] ~= source then
    -- A second message of this model for the request: the first one's entry stands.
  else
    if not mine then
      mine = {model, role, source, '', kind, value}
      entries[#entries + 1] = mine
      if role == 'p' and not primary then primary = mine end
      changed = true
    end
    if role == 's' and primary then
      if mine[4] == '' then
        mine[4] = source
        changed = true
      end
      if mine[4] == source then done[#done + 1] = {mine, primary} end
    elseif role == 'p' and primary == mine then
      for _, entry in ipairs(entries) do
        if entry[2] == 's' then
          if entry[4] == '' then
            entry[4] = source
            changed = true
          end
          if entry[4] == source then done[#done + 1] = {entry, mine} end
        end
      end
    end
  end

  if changed then
    redis.call('HSET', KEYS[at], field, cmsgpack.pack(entries))
    if at == slots[1] then redis.call('PEXPIREAT', KEYS[at], expiresAt) end
  end
  out[#out + 1] = #done
  for _, pair in ipairs(done) do
    local shadow, prim = pair[1], pair[2]
    out[#out + 1] = shadow[1]
    out[#out + 1] = shadow[5]
    out[#out + 1] = shadow[6]
    out[#out + 1] = prim[1]
    out[#out + 1] = prim[5]
    out[#out + 1] = prim[6]
  end
end
return out
