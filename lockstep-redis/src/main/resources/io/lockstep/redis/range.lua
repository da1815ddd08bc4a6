-- Lockstep catch-up: the map's revision and the stream's entries from a revision on, read atomically.
-- KEYS[1] <ns>:rev, KEYS[2] <ns>:log; ARGV[1] first revision wanted, ARGV[2] at most this many entries.
-- Returns {rev, {{id, {"c", message}}, ...}}.
return {tonumber(redis.call('GET', KEYS[1]) or '0'),
    redis.call('XRANGE', KEYS[2], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])}
