-- Lockstep catch-up: the map's revision, the stream's entries from a revision on and the history id
-- (epoch), read atomically.
-- KEYS[1] <ns>:rev, KEYS[2] <ns>:log, KEYS[3] <ns>:epoch; ARGV[1] first revision wanted, ARGV[2] at
-- most this many entries, ARGV[3] a fresh random id, the epoch when the namespace has none yet.
-- Returns {rev, {{id, {"c", message}}, ...}, epoch}.
redis.call('SET', KEYS[3], ARGV[3], 'NX')
return {tonumber(redis.call('GET', KEYS[1]) or '0'),
    redis.call('XRANGE', KEYS[2], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2]), redis.call('GET', KEYS[3])}
