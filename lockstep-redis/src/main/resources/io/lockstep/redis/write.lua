-- Lockstep write: the one way to change a Lockstep map in Redis (docs/backends/redis.md).
-- KEYS[1] <ns>:rev   the map's revision counter (a string holding an integer)
-- KEYS[2] <ns>:data  the map: a hash, field = map key, value = envelope "<modRev>:<typeLen>:<type><value>"
-- KEYS[3] <ns>:log   the change stream, one entry "<rev>-0" with field "c" = the change message
-- ARGV[1] "put" or "del"
-- ARGV[2] the map key
-- ARGV[3] expected mod revision: -1 = unconditional, 0 = only if absent, n = only if the key is at n
-- ARGV[4] content type (put; ignored for del)
-- ARGV[5] value bytes (put; ignored for del)
-- ARGV[6] the stream's approximate maximum length (XADD MAXLEN ~)
-- ARGV[7] the pub/sub channel, <ns>:changes
-- Returns {1, rev} applied; {2, counter} delete of an absent key; {3, currentModRev or 0, envelope or nil} conflict.
-- Change message: "<rev>:P:<keyLen>:<key><envelope>" or "<rev>:D:<keyLen>:<key>".
local op, key = ARGV[1], ARGV[2]
local expected = tonumber(ARGV[3])
if (op ~= 'put' and op ~= 'del') or key == nil or key == '' or expected == nil or tonumber(ARGV[6]) == nil
    or ARGV[7] == nil then
  return redis.error_reply('ERR lockstep write: bad arguments')
end
local cur = redis.call('HGET', KEYS[2], key)
local curRev = 0
if cur then
  curRev = tonumber(string.match(cur, '^(%d+):'))
end
if expected >= 0 and curRev ~= expected then
  return {3, curRev, cur}
end
if op == 'del' and not cur then
  return {2, tonumber(redis.call('GET', KEYS[1]) or '0')}
end
local rev = string.format('%.0f', redis.call('INCR', KEYS[1])) -- exact digits, never 1e+15
local msg
if op == 'put' then
  local ctype = ARGV[4] or ''
  local env = rev .. ':' .. #ctype .. ':' .. ctype .. (ARGV[5] or '')
  redis.call('HSET', KEYS[2], key, env)
  msg = rev .. ':P:' .. #key .. ':' .. key .. env
else
  redis.call('HDEL', KEYS[2], key)
  msg = rev .. ':D:' .. #key .. ':' .. key
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], rev .. '-0', 'c', msg)
redis.call('PUBLISH', ARGV[7], msg)
return {1, tonumber(rev)}
