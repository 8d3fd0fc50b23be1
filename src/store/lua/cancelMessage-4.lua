--[[
  Cancels a message that has not been handed to a provider yet.

  KEYS[1]  message hash
  KEYS[2]  scheduled zset
  KEYS[3]  attempts list
  ARGV[1]  message id
  ARGV[2]  now (ms)
  ARGV[3]  how long a settled message is kept (ms)

  Returns 1 canceled, 0 not cancelable (sending or final; the status is returned as a second
  value), -1 no such message. A canceled message is settled: its body is dropped and its record
  expires after the retention time.
]]
local status = redis.call("HGET", KEYS[1], "status")
if not status then return {-1, ""} end
if status == "queued" or status == "deferred" then
  redis.call("HSET", KEYS[1], "status", "canceled", "updated_at", ARGV[2])
  redis.call("HDEL", KEYS[1], "next_attempt_at", "waiting", "body")
  redis.call("ZREM", KEYS[2], ARGV[1])
  redis.call("PEXPIRE", KEYS[1], ARGV[3])
  redis.call("PEXPIRE", KEYS[3], ARGV[3])
  return {1, "canceled"}
end
return {0, status}
