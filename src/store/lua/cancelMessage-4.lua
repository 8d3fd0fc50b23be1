--[[
  Cancels a message that has not been handed to a provider yet.

  KEYS[1]  message hash
  KEYS[2]  scheduled zset
  KEYS[3]  attempts list
  KEYS[4]  delivery-log counters of the day the message was accepted (hash)
  ARGV[1]  message id
  ARGV[2]  now (ms)
  ARGV[3]  how long a settled message is kept (ms)
  ARGV[4]  hour (UTC, "00".."23") the message was accepted in
  ARGV[5]  when the counters hash expires (ms since the epoch)

  Returns 1 canceled, 0 not cancelable (sending or final; the status is returned as a second
  value), -1 no such message. A canceled message is settled: its body is dropped and its record
  expires after the retention time. Its delivery log counts as failed from now on (it was counted
  as pending, under the provider of an earlier deferred attempt if there was one).
]]
local status = redis.call("HGET", KEYS[1], "status")
if not status then return {-1, ""} end
if status == "queued" or status == "deferred" then
  local hour = ARGV[4]
  local was = redis.call("HMGET", KEYS[1], "log_status", "log_provider")
  local oldStatus = was[1] or "pending"
  local provider = was[2] or ""
  if oldStatus ~= "failed" then
    redis.call("HINCRBY", KEYS[4], hour .. ":" .. oldStatus, -1)
    redis.call("HINCRBY", KEYS[4], hour .. ":failed", 1)
    if provider ~= "" then
      redis.call("HINCRBY", KEYS[4], "p:" .. provider .. ":" .. hour .. ":" .. oldStatus, -1)
      redis.call("HINCRBY", KEYS[4], "p:" .. provider .. ":" .. hour .. ":failed", 1)
    end
    redis.call("PEXPIREAT", KEYS[4], ARGV[5])
  end
  redis.call("HSET", KEYS[1], "status", "canceled", "updated_at", ARGV[2], "log_status", "failed")
  redis.call("HDEL", KEYS[1], "next_attempt_at", "waiting", "body")
  redis.call("ZREM", KEYS[2], ARGV[1])
  redis.call("PEXPIRE", KEYS[1], ARGV[3])
  redis.call("PEXPIRE", KEYS[3], ARGV[3])
  return {1, "canceled"}
end
return {0, status}
