-- Lockstep cluster counter increment, sent again safely (docs/backends/redis.md).
-- KEYS[1] <ns>:counter:<name>, KEYS[2] <ns>:req:<id> the request id; ARGV[1] the delta, ARGV[2] how long to
-- remember the request, in milliseconds. INCRBY once per request id: the same request sent again answers
-- the total it got the first time. Returns {total as a decimal string} (a string: exact beyond 2^53).
local done = redis.call('GET', KEYS[2])
if done then
  return {done}
end
redis.call('INCRBY', KEYS[1], ARGV[1])
local total = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[2], total, 'PX', ARGV[2])
return {total}
