--[[
  Counts a provider-side failure and opens the circuit when there are `threshold` of them inside
  the window: the provider is paused until a time, or disabled until someone activates it.
  The most severe class seen inside the window decides which.

  KEYS[1]  failures zset (score: time ms; member: "time:class:nonce")
  KEYS[2]  health hash
  ARGV[1]  now (ms)
  ARGV[2]  window (ms)
  ARGV[3]  threshold
  ARGV[4]  class of this failure
  ARGV[5]  nonce
  ARGV[6]  reason text (this failure's response)
  ARGV[7..10]  pause (ms) for transient, connection, quota; -1 for auth_config means disabled
               (order: transient, connection, quota, auth_config)

  Returns {state, class, until, recent}: state "ok" | "paused" | "disabled".
]]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local cls = ARGV[4]
redis.call("ZADD", KEYS[1], now, ARGV[1] .. ":" .. cls .. ":" .. ARGV[5])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
redis.call("PEXPIRE", KEYS[1], window)
local members = redis.call("ZRANGE", KEYS[1], 0, -1)
local recent = #members
if recent < threshold then
  return {"ok", cls, 0, recent}
end
local rank = {transient = 1, connection = 2, quota = 3, auth_config = 4}
local pauses = {transient = tonumber(ARGV[7]), connection = tonumber(ARGV[8]), quota = tonumber(ARGV[9]), auth_config = tonumber(ARGV[10])}
local worst = cls
for _, m in ipairs(members) do
  local c = string.match(m, "^[^:]+:([^:]+):")
  if c and rank[c] and rank[c] > (rank[worst] or 0) then worst = c end
end
local pause = pauses[worst] or pauses["transient"]
local state, untilAt
if pause < 0 then
  state = "disabled"
  untilAt = 0
else
  state = "paused"
  untilAt = now + pause
end
redis.call("HSET", KEYS[2], "state", state, "cls", worst, "reason", ARGV[6], "until", untilAt, "since", now, "recent", recent)
redis.call("DEL", KEYS[1])
return {state, worst, untilAt, recent}
