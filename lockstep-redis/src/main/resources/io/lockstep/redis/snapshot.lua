-- Lockstep listing, first step: the map's revision, the history id (epoch) and the number of entries,
-- read atomically. The entries are then read page by page (HSCAN, one command per page) and the
-- stream's changes after this revision replayed on top of them (range.lua); see RedisListing.
-- KEYS[1] <ns>:rev, KEYS[2] <ns>:data, KEYS[3] <ns>:epoch; ARGV[1] a fresh random id, the epoch
-- when the namespace has none yet (first listed, or Redis lost it with the rest: a new history).
-- Returns {rev, epoch, number of fields in <ns>:data}.
redis.call('SET', KEYS[3], ARGV[1], 'NX')
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('GET', KEYS[3]),
    redis.call('HLEN', KEYS[2])}
