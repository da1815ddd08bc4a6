-- Lockstep strong read: the map's revision and one key's envelope (or nil), read atomically.
-- KEYS[1] <ns>:rev, KEYS[2] <ns>:data; ARGV[1] the map key. Returns {rev, envelope or nil}.
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HGET', KEYS[2], ARGV[1])}
