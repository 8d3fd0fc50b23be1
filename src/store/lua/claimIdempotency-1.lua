--[[
  Claims an Idempotency-Key for one request (per account + endpoint + key), or says what the
  earlier request with the same key did.

  KEYS[1]  the record: hash {state: pending|done, fp, status, body}
  ARGV[1]  fingerprint of this request's canonical body
  ARGV[2]  how long a pending claim lives (ms): a request that dies without finishing frees the key

  Returns {"new"} (claimed: go ahead), {"replay", status, body} (same body, finished: answer
  this), {"conflict"} (the key was used with a different body), or {"inflight", pttl} (the first
  request with this key and body is still running).
]]
local v = redis.call("HMGET", KEYS[1], "state", "fp", "status", "body")
if not v[1] then
  redis.call("HSET", KEYS[1], "state", "pending", "fp", ARGV[1])
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return {"new"}
end
if v[2] ~= ARGV[1] then
  return {"conflict"}
end
if v[1] == "pending" then
  return {"inflight", redis.call("PTTL", KEYS[1])}
end
return {"replay", v[3], v[4]}
