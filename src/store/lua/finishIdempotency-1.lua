--[[
  Ends a claim: stores the response to replay (a success) or frees the key (a failure, so the
  client can retry with the same key). Only the claim with the same fingerprint is touched.

  KEYS[1]  the record
  ARGV[1]  fingerprint
  ARGV[2]  "done" or "release"
  ARGV[3]  status code (done)
  ARGV[4]  response body (done)
  ARGV[5]  how long the record is kept (ms; done)

  Returns 1, or 0 when the claim was no longer there.
]]
local v = redis.call("HMGET", KEYS[1], "state", "fp")
if v[1] ~= "pending" or v[2] ~= ARGV[1] then return 0 end
if ARGV[2] == "release" then
  redis.call("DEL", KEYS[1])
  return 1
end
redis.call("HSET", KEYS[1], "state", "done", "status", ARGV[3], "body", ARGV[4])
redis.call("PEXPIRE", KEYS[1], ARGV[5])
return 1
