--[[
  Moves scheduled messages whose time has come back onto the ready queue.

  KEYS[1]  scheduled zset
  KEYS[2]  ready stream
  ARGV[1]  now (ms)
  ARGV[2]  at most this many

  Returns the ids of the messages moved.
]]
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call("ZREM", KEYS[1], id)
  redis.call("XADD", KEYS[2], "*", "id", id)
end
return due
