--[[
  Records the outcome of one provider attempt and settles the queue entry, atomically.

  KEYS[1]  message hash
  KEYS[2]  attempts list
  KEYS[3]  ready stream (the entry is acknowledged and deleted)
  KEYS[4]  scheduled zset (a retry is scheduled there when ARGV[5] is set)

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

  Returns 1.
]]
local entry = ARGV[1]
local group = ARGV[2]
local status = ARGV[3]
local nextAt = ARGV[5]
redis.call("RPUSH", KEYS[2], ARGV[4])
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("HSET", KEYS[1], "status", status, "updated_at", ARGV[7], "provider_id", ARGV[8])
  redis.call("HDEL", KEYS[1], "waiting")
  if ARGV[9] == "1" then
    redis.call("HSET", KEYS[1], "last_failed_provider", ARGV[8])
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
