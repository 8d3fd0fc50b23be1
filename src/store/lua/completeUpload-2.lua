--[[
  Completes an attachment upload intent with the bytes a client PUT, once.

  KEYS[1]  upload intent hash   (account hash tag)
  KEYS[2]  attachment hash      (account hash tag)
  ARGV[1]  sha256 (hex) of the uploaded bytes
  ARGV[2]  new attachment id
  ARGV[3]  attachment metadata (JSON)
  ARGV[4]  attachment bytes
  ARGV[5]  lifetime of the attachment, and from now on of the intent (ms)

  Returns {1, id} stored as ARGV[2]; {0, id, sha256} the intent was already completed (as id,
  with those bytes); {-1} the intent does not exist.
]]
local sha = ARGV[1]
local attachmentId = ARGV[2]
local meta = ARGV[3]
local content = ARGV[4]
local ttl = tonumber(ARGV[5])

if redis.call("EXISTS", KEYS[1]) == 0 then return {-1} end
local done = redis.call("HMGET", KEYS[1], "done_id", "done_sha")
if done[1] then return {0, done[1], done[2]} end
redis.call("HSET", KEYS[2], "meta", meta, "content", content)
redis.call("PEXPIRE", KEYS[2], ttl)
redis.call("HSET", KEYS[1], "done_id", attachmentId, "done_sha", sha)
redis.call("PEXPIRE", KEYS[1], ttl)
return {1, attachmentId}
