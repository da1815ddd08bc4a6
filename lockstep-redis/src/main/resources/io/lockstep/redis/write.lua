-- Lockstep write: the one way to change a Lockstep map in Redis (docs/backends/redis.md).
-- KEYS[1] <ns>:rev   the map's revision counter (a string holding an integer)
-- KEYS[2] <ns>:data  the map: a hash, field = map key, value = envelope "<modRev>:<typeLen>:<type><value>"
-- KEYS[3] <ns>:log   the change stream, one entry "<rev>-0" with field "c" = the change message
-- KEYS[4] optional, <ns>:req:<id>: a request id; a write that was applied remembers its revision
--         there for ARGV[8] ms, and the same request sent again answers that instead of running again
-- ARGV[1] "put" or "del"
-- ARGV[2] the map key
-- ARGV[3] expected mod revision: -1 = unconditional, 0 = only if absent, n = only if the key is at n
-- ARGV[4] content type (put; ignored for del)
-- ARGV[5] value bytes (put; ignored for del)
-- ARGV[6] the stream's approximate maximum length (XADD MAXLEN ~)
-- ARGV[7] the pub/sub channel, <ns>:changes
-- ARGV[8] with KEYS[4]: how long to remember the request, in milliseconds
-- ARGV[9] optional, with KEYS[4]: the fingerprint of a client's request id (an Idempotency-Key): then
--         KEYS[4] is <ns>:idem:<digest> and remembers every answer as "w:<fingerprint>:<status>:<rev>";
--         sent again, the same request answers {status, rev, false, 1}; another request under that
--         id answers {4, 0} and changes nothing
-- Returns {1, rev} applied; {2, counter} delete of an absent key; {3, currentModRev or 0, envelope or nil} conflict;
-- with ARGV[9]: a replay appends {.., false, 1}; {4, 0} the id was used for another request.
-- Change message: "<rev>:P:<keyLen>:<key><envelope>" or "<rev>:D:<keyLen>:<key>".
-- All or nothing: everything that could fail is checked before the first change, so the script either
-- makes all of INCR, HSET/HDEL, XADD and PUBLISH or none, and every error says nothing was changed.
local function refuse(why)
  return redis.error_reply('ERR lockstep write refused, nothing was changed: ' .. why)
end
local op, key = ARGV[1], ARGV[2]
local expected = tonumber(ARGV[3])
local req = KEYS[4]
if (op ~= 'put' and op ~= 'del') or key == nil or key == '' or expected == nil
    or not string.match(ARGV[6] or '', '^%d+$') or ARGV[7] == nil
    or (req and not string.match(ARGV[8] or '', '^[1-9]%d*$')) then
  return refuse('bad arguments')
end
local fp = ARGV[9]
if fp and not string.match(fp, '^%x+$') then
  return refuse('bad arguments')
end
if req then
  if redis.call('TYPE', req)['ok'] == 'string' then
    local done = redis.call('GET', req)
    if not fp then
      return {1, tonumber(done)} -- sent again: the first answer
    end
    local dfp, dstatus, drev = string.match(done, '^w:(%x+):(%d):(%d+)$')
    if dfp ~= fp then
      return {4, 0} -- the id came back with another request
    end
    return {tonumber(dstatus), tonumber(drev), false, 1}
  end
end
local function answer(status, rev)
  if req and fp then
    redis.call('SET', req, 'w:' .. fp .. ':' .. status .. ':' .. string.format('%.0f', tonumber(rev)), 'PX', ARGV[8])
  end
end
local wanted = {'string', 'hash', 'stream'}
for i = 1, 3 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= wanted[i] then
    return refuse(KEYS[i] .. ' is a ' .. t .. ', not a ' .. wanted[i])
  end
end
local counter = redis.call('GET', KEYS[1]) or '0'
if not string.match(counter, '^%d+$') or #counter > 15 then
  return refuse(KEYS[1] .. ' holds "' .. string.sub(counter, 1, 40) .. '", not a revision')
end
local cur = redis.call('HGET', KEYS[2], key)
local curRev = 0
if cur then
  curRev = tonumber(string.match(cur, '^(%d+):%d+:'))
  if curRev == nil and expected >= 0 then
    return refuse('the value of "' .. key .. '" in ' .. KEYS[2] .. ' is not a Lockstep envelope'
        .. ' (written outside this script); put or delete it unconditionally')
  end
end
if expected >= 0 and curRev ~= expected then
  answer(3, curRev)
  return {3, curRev, cur}
end
if op == 'del' and not cur then
  answer(2, counter)
  return {2, tonumber(counter)}
end
local next = tonumber(counter) + 1
if redis.call('TYPE', KEYS[3])['ok'] == 'stream' then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local last = tonumber(string.match(info[i + 1], '^(%d+)-'))
      if last == nil or last >= next then
        return refuse(KEYS[3] .. ' already reached id ' .. info[i + 1] .. ', past ' .. KEYS[1] .. ' = '
            .. counter .. ' (the counter fell behind the stream: the namespace is inconsistent)')
      end
    end
  end
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
if req and fp then
  answer(1, rev)
elseif req then
  redis.call('SET', req, rev, 'PX', ARGV[8])
end
return {1, tonumber(rev)}
