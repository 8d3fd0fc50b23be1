--[[
  Stores messages and puts them on the ready queue of one account, atomically: either every
  message of the call is stored and queued, or none is. When the request carries an
  Idempotency-Key, its record is completed in the same step, so there is no moment at which a
  message is queued but its key is not recorded (or the other way round). The messages are
  counted as pending delivery logs of their hour (src/store/logs.ts) in the same step.

  KEYS[1]      ready stream          smx:{a:X}:ready
  KEYS[2]      message index zset    smx:{a:X}:msgs
  KEYS[3]      delivery-log counters of the day (hash)
  KEYS[4..n+3] one message hash per message, in ARGV order
  KEYS[n+4]    the idempotency record, when ARGV[3] is not ""

  ARGV[1]  created_at (ms)
  ARGV[2]  n, the number of messages
  ARGV[3]  idempotency: fingerprint of the claim, or "" for none
  ARGV[4]  idempotency: status code of the response to replay
  ARGV[5]  idempotency: the response body
  ARGV[6]  idempotency: how long the record is kept (ms)
  ARGV[7]  hour (UTC, "00".."23") of created_at
  ARGV[8]  when the counters hash expires (ms since the epoch)
  ARGV[9..] for each message, 3 values: id, meta (JSON), body (msgpack)

  Returns n, -1 when a message id already exists, -2 when the idempotency claim is gone or
  belongs to another body (nothing is written in either case).
]]
local readyKey = KEYS[1]
local indexKey = KEYS[2]
local countersKey = KEYS[3]
local createdAt = ARGV[1]
local n = tonumber(ARGV[2])
local idemFp = ARGV[3]

for i = 1, n do
  if redis.call("EXISTS", KEYS[i + 3]) == 1 then
    return -1
  end
end
if idemFp ~= "" then
  local v = redis.call("HMGET", KEYS[n + 4], "state", "fp")
  if v[1] ~= "pending" or v[2] ~= idemFp then
    return -2
  end
end

for i = 1, n do
  local base = 9 + (i - 1) * 3
  local id = ARGV[base]
  redis.call("HSET", KEYS[i + 3], "meta", ARGV[base + 1], "body", ARGV[base + 2],
    "status", "queued", "updated_at", createdAt)
  redis.call("ZADD", indexKey, createdAt, id)
  redis.call("XADD", readyKey, "*", "id", id)
end
redis.call("HINCRBY", countersKey, ARGV[7] .. ":pending", n)
redis.call("PEXPIREAT", countersKey, ARGV[8])
if idemFp ~= "" then
  redis.call("HSET", KEYS[n + 4], "state", "done", "status", ARGV[4], "body", ARGV[5])
  redis.call("PEXPIRE", KEYS[n + 4], ARGV[6])
end
return n
