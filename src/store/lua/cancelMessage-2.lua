--[[
  Cancels a message that has not been handed to a provider yet.

  KEYS[1]  message hash
  KEYS[2]  scheduled zset
  ARGV[1]  message id
  ARGV[2]  now (ms)

  Returns 1 canceled, 0 not cancelable (sending or final; the status is returned as a second
  value), -1 no such message.
]]
local status = redis.call("HGET", KEYS[1], "status")
if not status then return {-1, ""} end
if status == "queued" or status == "deferred" then
  redis.call("HSET", KEYS[1], "status", "canceled", "updated_at", ARGV[2])
  redis.call("HDEL", KEYS[1], "next_attempt_at")
  redis.call("ZREM", KEYS[2], ARGV[1])
  return {1, "canceled"}
end
return {0, status}
