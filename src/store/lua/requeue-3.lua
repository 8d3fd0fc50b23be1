--[[
  Puts a message back to wait (status queued) until a given time, and settles its queue entry.
  Used when no provider in scope can take it right now.

  KEYS[1]  message hash
  KEYS[2]  ready stream
  KEYS[3]  scheduled zset
  ARGV[1]  stream entry id
  ARGV[2]  consumer group
  ARGV[3]  message id
  ARGV[4]  ready again at (ms)
  ARGV[5]  now (ms)
  ARGV[6]  what the message waits for (JSON, shown by GET /emails/{id})

  Returns 1.
]]
local status = redis.call("HGET", KEYS[1], "status")
if status == "queued" or status == "deferred" or status == "sending" then
  redis.call("HSET", KEYS[1], "updated_at", ARGV[5], "next_attempt_at", ARGV[4], "waiting", ARGV[6])
  redis.call("ZADD", KEYS[3], ARGV[4], ARGV[3])
end
redis.call("XACK", KEYS[2], ARGV[2], ARGV[1])
redis.call("XDEL", KEYS[2], ARGV[1])
return 1
