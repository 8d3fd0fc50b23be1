--[[
  Ends a provider's pause once its time has passed, once: of several gateway processes that
  notice, exactly one gets 1 and announces the provider is back.

  KEYS[1]  health hash
  ARGV[1]  now (ms)

  Returns 1 when this call ended the pause, else 0.
]]
local v = redis.call("HMGET", KEYS[1], "state", "until")
if v[1] == "paused" and tonumber(v[2]) <= tonumber(ARGV[1]) then
  redis.call("DEL", KEYS[1])
  return 1
end
return 0
