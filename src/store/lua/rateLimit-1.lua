--[[
  A sliding-window log: at most `limit` requests in any `window` ms span for one API key. A
  burst may use the whole limit at once, but never more inside a window (a token bucket that
  refills during the burst would allow more). Time is Redis's own TIME unless a time is given
  (tests with an injected clock).

  KEYS[1]  the key's log: sorted set of request times (ms)
  ARGV[1]  limit
  ARGV[2]  window (ms)
  ARGV[3]  now (ms), or "" to use Redis TIME
  ARGV[4]  a unique member for this request
  ARGV[5]  cost: 1 to count the request, 0 to only look

  Returns {allowed (1|0), remaining, reset_ms}: reset_ms is how long until the oldest counted
  request leaves the window (when the window is full: when one more request fits again), 0 when
  nothing is counted.
]]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[3] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[3])
end
local cost = tonumber(ARGV[5])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
local count = redis.call("ZCARD", KEYS[1])
local function resetMs()
  local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
  if oldest[2] == nil then return 0 end
  return tonumber(oldest[2]) + window - now
end
if cost > 0 and count + cost > limit then
  return {0, 0, resetMs()}
end
if cost > 0 then
  redis.call("ZADD", KEYS[1], now, ARGV[4])
  redis.call("PEXPIRE", KEYS[1], window)
  count = count + cost
end
return {1, limit - count, resetMs()}
