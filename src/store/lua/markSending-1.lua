--[[
  Moves a message to `sending` unless it has already reached a final state or was canceled.

  KEYS[1]  message hash
  ARGV[1]  provider id
  ARGV[2]  now (ms)
  ARGV[3]  why this provider was chosen (shown by GET /emails/{id})

  Returns 1 when the message may be sent, 0 when it must be skipped (and acknowledged),
  -1 when the message no longer exists.
]]
local status = redis.call("HGET", KEYS[1], "status")
if not status then return -1 end
if status == "sent" or status == "failed" or status == "canceled" or status == "rejected" then
  return 0
end
redis.call("HSET", KEYS[1], "status", "sending", "provider_id", ARGV[1], "updated_at", ARGV[2], "why", ARGV[3])
redis.call("HDEL", KEYS[1], "waiting")
return 1
