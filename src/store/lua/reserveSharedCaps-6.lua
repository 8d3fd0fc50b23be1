--[[
  reserveCaps-4 for a shared provider (the managed route): takes n sends from the provider's four
  cap windows and from the sending account's own daily count, all at once or none. The account's
  daily limit is read here, so an approved increase counts from the next send on.

  KEYS[1..4]  counters of the provider's current second, minute, hour and day window
  KEYS[5]     the account's counter for the current UTC day
  KEYS[6]     the provider's daily limits: hash of account id to limit, `_default` for the others
  ARGV[1..4]  the cap of each provider window, 0 for none
  ARGV[5..8]  each counter's time to live (ms): the window's length plus a margin
  ARGV[9]     n
  ARGV[10]    the account id
  ARGV[11]    the daily limit when the hash has neither the account nor `_default`
  ARGV[12]    time to live (ms) of the account's day counter

  A limit of 0 means no per-account limit (the operator's own notices account).
  Returns {1, c1, c2, c3, c4, c5} (the counts after taking) or {0, i, limit} where i (1..5) is the
  first full window, 5 being the account's day.
]]
local n = tonumber(ARGV[9])
local counts = {}
for i = 1, 4 do
  counts[i] = tonumber(redis.call("GET", KEYS[i]) or "0")
  local cap = tonumber(ARGV[i])
  if cap > 0 and counts[i] + n > cap then
    return {0, i, cap}
  end
end
local limit = redis.call("HGET", KEYS[6], ARGV[10]) or redis.call("HGET", KEYS[6], "_default") or ARGV[11]
limit = tonumber(limit)
local mine = tonumber(redis.call("GET", KEYS[5]) or "0")
if limit > 0 and mine + n > limit then
  return {0, 5, limit}
end
for i = 1, 4 do
  counts[i] = redis.call("INCRBY", KEYS[i], n)
  redis.call("PEXPIRE", KEYS[i], ARGV[4 + i])
end
counts[5] = redis.call("INCRBY", KEYS[5], n)
redis.call("PEXPIRE", KEYS[5], ARGV[12])
return {1, counts[1], counts[2], counts[3], counts[4], counts[5]}
