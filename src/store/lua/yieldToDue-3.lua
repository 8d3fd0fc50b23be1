--[[
  Keeps waiting messages ahead of new ones. A message routed for the first time first checks
  whether messages of its account are already due in the scheduled queue (waiting for a cap
  window that has just freed, or a retry): if so, those are moved to the ready queue now and this
  message is queued again behind them, so a new send never takes the slot an older message was
  waiting for.

  KEYS[1]  scheduled zset
  KEYS[2]  ready stream
  KEYS[3]  this message's hash (to check it still exists)
  ARGV[1]  now (ms)
  ARGV[2]  at most this many moved
  ARGV[3]  this entry's id in the ready stream
  ARGV[4]  consumer group
  ARGV[5]  this message's id

  Returns the ids moved ahead of this message (none: nothing was due; go on routing it).
]]
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[2]))
if #due == 0 then return due end
for _, id in ipairs(due) do
  redis.call("ZREM", KEYS[1], id)
  redis.call("XADD", KEYS[2], "*", "id", id)
end
redis.call("XACK", KEYS[2], ARGV[4], ARGV[3])
redis.call("XDEL", KEYS[2], ARGV[3])
if redis.call("EXISTS", KEYS[3]) == 1 then
  redis.call("XADD", KEYS[2], "*", "id", ARGV[5])
end
return due
