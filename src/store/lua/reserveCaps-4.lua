--[[
  Takes n sends from a provider's four cap windows at once, or none: a send that would put any
  window over its cap is refused and nothing is counted. Every window is counted (capped or not)
  so the API can show usage.

  KEYS[1..4]  counters of the current second, minute, hour and day window
  ARGV[1..4]  the cap of each window, 0 for none
  ARGV[5..8]  each counter's time to live (ms): the window's length plus a margin
  ARGV[9]     n

  Returns {1, c1, c2, c3, c4} (the counts after taking) or {0, i} where i (1..4) is the first
  window that is full.
]]
local n = tonumber(ARGV[9])
local counts = {}
for i = 1, 4 do
  counts[i] = tonumber(redis.call("GET", KEYS[i]) or "0")
  local cap = tonumber(ARGV[i])
  if cap > 0 and counts[i] + n > cap then
    return {0, i}
  end
end
for i = 1, 4 do
  counts[i] = redis.call("INCRBY", KEYS[i], n)
  redis.call("PEXPIRE", KEYS[i], ARGV[4 + i])
end
return {1, counts[1], counts[2], counts[3], counts[4]}
