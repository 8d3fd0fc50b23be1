--[[
  Stores messages and puts them on the ready queue of one account, atomically: either every
  message of the call is stored and queued, or none is.

  KEYS[1]   ready stream          smx:{a:X}:ready
  KEYS[2]   message index zset    smx:{a:X}:msgs
  KEYS[3..] one message hash per message, in ARGV order

  ARGV[1]   created_at (ms)
  ARGV[2..] for each message, 3 values: id, meta (JSON), body (msgpack)

  Returns the number of messages queued, or -1 when a message id already exists (nothing written).
]]
local readyKey = KEYS[1]
local indexKey = KEYS[2]
local createdAt = ARGV[1]
local n = #KEYS - 2

for i = 1, n do
  if redis.call("EXISTS", KEYS[i + 2]) == 1 then
    return -1
  end
end

for i = 1, n do
  local base = 2 + (i - 1) * 3
  local id = ARGV[base]
  redis.call("HSET", KEYS[i + 2], "meta", ARGV[base + 1], "body", ARGV[base + 2],
    "status", "queued", "updated_at", createdAt)
  redis.call("ZADD", indexKey, createdAt, id)
  redis.call("XADD", readyKey, "*", "id", id)
end
return n
