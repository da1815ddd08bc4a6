-- Lockstep listing: the map's revision, every entry and the history id (epoch), read atomically.
-- KEYS[1] <ns>:rev, KEYS[2] <ns>:data, KEYS[3] <ns>:epoch; ARGV[1] a fresh random id, the epoch
-- when the namespace has none yet (first listed, or Redis lost it with the rest: a new history).
-- Returns {rev, {field1, envelope1, field2, envelope2, ...}, epoch}.
redis.call('SET', KEYS[3], ARGV[1], 'NX')
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HGETALL', KEYS[2]),
    redis.call('GET', KEYS[3])}
