-- Lockstep cluster counter increment, sent again safely (docs/backends/redis.md).
-- KEYS[1] <ns>:counter:<name>, KEYS[2] <ns>:req:<id> the request id; ARGV[1] the delta, ARGV[2] how long to
-- remember the request, in milliseconds. INCRBY once per request id: the same request sent again answers
-- the total it got the first time. Returns {total as a decimal string} (a string: exact beyond 2^53).
-- ARGV[3] optional: the fingerprint of a client's request id (an Idempotency-Key); KEYS[2] is then
-- <ns>:idem:<digest>, remembering "i:<fingerprint>:<total>"; sent again it answers {total, 1}, and
-- under another request {'0', 2} without counting.
local fp = ARGV[3]
local done = redis.call('GET', KEYS[2])
if done then
  if not fp then
    return {done}
  end
  local dfp, dtotal = string.match(done, '^i:(%x+):(-?%d+)$')
  if dfp ~= fp then
    return {'0', 2}
  end
  return {dtotal, 1}
end
redis.call('INCRBY', KEYS[1], ARGV[1])
local total = redis.call('GET', KEYS[1])
if fp then
  redis.call('SET', KEYS[2], 'i:' .. fp .. ':' .. total, 'PX', ARGV[2])
  return {total, 0}
end
redis.call('SET', KEYS[2], total, 'PX', ARGV[2])
return {total}
