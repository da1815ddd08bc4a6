-- Lockstep listing: the map's revision and every entry, read atomically.
-- KEYS[1] <ns>:rev, KEYS[2] <ns>:data. Returns {rev, {field1, envelope1, field2, envelope2, ...}}.
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HGETALL', KEYS[2])}
