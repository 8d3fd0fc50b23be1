--[[
  Records the outcome of one provider attempt and settles the queue entry, atomically; the
  delivery-log counters (src/store/logs.ts) move in the same step.

  KEYS[1]  message hash
  KEYS[2]  attempts list
  KEYS[3]  ready stream (the entry is acknowledged and deleted)
  KEYS[4]  scheduled zset (a retry is scheduled there when ARGV[5] is set)
  KEYS[5]  delivery-log counters of the day the message was accepted (hash)

  ARGV[1]  stream entry id
  ARGV[2]  consumer group
  ARGV[3]  new status: sent | failed | deferred | rejected
  ARGV[4]  attempt record (JSON)
  ARGV[5]  next attempt at (ms), or "" for none
  ARGV[6]  message id
  ARGV[7]  now (ms)
  ARGV[8]  provider id
  ARGV[9]  "1" when the attempt failed (the provider is remembered so a retry avoids it)
  ARGV[10] how long a settled message is kept (ms): when the status is final the body is
           dropped and the record and its attempts expire after this
  ARGV[11] hour (UTC, "00".."23") the message was accepted in
  ARGV[12] delivery-log status after this attempt: pending | sent | failed | rejected
  ARGV[13] when the counters hash expires (ms since the epoch)

  The message is counted once, under its delivery-log status and provider (`log_status`,
  `log_provider` in its hash; absent means pending and no provider, as enqueueMessages counted
  it). When either changes, the old counts go down and the new ones up.

  Returns 1.
]]
local entry = ARGV[1]
local group = ARGV[2]
local status = ARGV[3]
local nextAt = ARGV[5]
local provider = ARGV[8]
local hour = ARGV[11]
local logStatus = ARGV[12]

local function count(st, prov, by)
  if prov == "" then
    redis.call("HINCRBY", KEYS[5], hour .. ":" .. st, by)
  else
    redis.call("HINCRBY", KEYS[5], "p:" .. prov .. ":" .. hour .. ":" .. st, by)
  end
end

redis.call("RPUSH", KEYS[2], ARGV[4])
if redis.call("EXISTS", KEYS[1]) == 1 then
  local was = redis.call("HMGET", KEYS[1], "log_status", "log_provider")
  local oldStatus = was[1] or "pending"
  local oldProvider = was[2] or ""
  if oldStatus ~= logStatus then
    count(oldStatus, "", -1)
    count(logStatus, "", 1)
  end
  if oldStatus ~= logStatus or oldProvider ~= provider then
    if oldProvider ~= "" then count(oldStatus, oldProvider, -1) end
    count(logStatus, provider, 1)
    redis.call("PEXPIREAT", KEYS[5], ARGV[13])
  end
  redis.call("HSET", KEYS[1], "status", status, "updated_at", ARGV[7], "provider_id", provider,
    "log_status", logStatus, "log_provider", provider)
  redis.call("HDEL", KEYS[1], "waiting")
  if ARGV[9] == "1" then
    redis.call("HSET", KEYS[1], "last_failed_provider", provider)
  end
  if status == "sent" or status == "failed" or status == "rejected" then
    redis.call("HDEL", KEYS[1], "body")
    redis.call("PEXPIRE", KEYS[1], ARGV[10])
    redis.call("PEXPIRE", KEYS[2], ARGV[10])
  end
  if nextAt ~= "" then
    redis.call("HSET", KEYS[1], "next_attempt_at", nextAt)
    redis.call("ZADD", KEYS[4], nextAt, ARGV[6])
  else
    redis.call("HDEL", KEYS[1], "next_attempt_at")
  end
end
if entry ~= "" then
  redis.call("XACK", KEYS[3], group, entry)
  redis.call("XDEL", KEYS[3], entry)
end
return 1
