/**
 * The Redis backend ({@code redis://host:port[/db]}): {@link io.lockstep.redis.RedisBackend} adapts
 * the backend SPI to one Redis server through Lettuce. Every write is one Lua script that bumps the
 * map's revision counter, writes the entry, appends the change to the map's stream and publishes
 * it; replicas follow the pub/sub channel and read missed ranges back from the stream. The adapter
 * is thin: ordering checks, resuming, relisting and digests are core's.
 */
package io.lockstep.redis;
