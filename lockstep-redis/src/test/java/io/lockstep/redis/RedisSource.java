package io.lockstep.redis;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.XTrimArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lockstep.Digests;
import io.lockstep.process.RedisProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The source of truth as tests see it, bypassing Lockstep: a plain Lettuce client of its own on a
 * {@link RedisProcess}, which writes "as another program" exactly as docs/backends/redis.md tells
 * such programs to: {@code EVALSHA} of the shipped {@code write.lua}, {@code EVAL} on {@code
 * NOSCRIPT}. It shares no code with the backend but the script file and the codec used to read
 * envelopes back.
 */
final class RedisSource implements AutoCloseable {
  static final String WRITE_LUA = readScript("write.lua");

  private final RedisClient client;
  private final StatefulRedisConnection<byte[], byte[]> connection;
  private final RedisCommands<byte[], byte[]> redis;
  private final long streamMaxLen;

  RedisSource(RedisProcess server) {
    this(server, RedisSettings.DEFAULT_STREAM_MAX_LEN);
  }

  RedisSource(RedisProcess server, long streamMaxLen) {
    RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(server.port()).withTimeout(Duration.ofSeconds(10)).build();
    this.client = RedisClient.create(uri);
    this.connection = client.connect(ByteArrayCodec.INSTANCE);
    this.redis = connection.sync();
    this.streamMaxLen = streamMaxLen;
  }

  RedisCommands<byte[], byte[]> redis() {
    return redis;
  }

  /** Puts through the script; returns the script's reply, {1, rev} when applied. */
  List<Object> put(String prefix, String key, byte[] value, String contentType) {
    return write(prefix, "put", key, -1, contentType, value);
  }

  /** Deletes through the script. */
  List<Object> delete(String prefix, String key) {
    return write(prefix, "del", key, -1, "", new byte[0]);
  }

  List<Object> write(String prefix, String op, String key, long expected, String contentType, byte[] value) {
    byte[][] keys = {b(prefix + ":rev"), b(prefix + ":data"), b(prefix + ":log")};
    byte[][] args = {b(op), b(key), b(Long.toString(expected)), b(contentType), value,
        b(Long.toString(streamMaxLen)), b(prefix + ":changes")};
    String sha = RedisScript.WRITE.sha();
    try {
      return redis.evalsha(sha, ScriptOutputType.MULTI, keys, args);
    } catch (RedisCommandExecutionException e) {
      if (e.getMessage() == null || !e.getMessage().startsWith("NOSCRIPT")) {
        throw e;
      }
      return redis.eval(WRITE_LUA, ScriptOutputType.MULTI, keys, args);
    }
  }

  /** The digest of the map as Redis holds it now, see {@link Digests}. */
  long digest(String prefix) {
    long d = 0;
    for (Map.Entry<byte[], byte[]> e : redis.hgetall(b(prefix + ":data")).entrySet()) {
      String key = new String(e.getKey(), UTF_8);
      d += Digests.entry(key, RedisValueCodec.decodeEnvelope(key, e.getValue()).modRevision());
    }
    return d;
  }

  /** The map's revision counter. */
  long revision(String prefix) {
    byte[] v = redis.get(b(prefix + ":rev"));
    return v == null ? 0 : Long.parseLong(new String(v, UTF_8));
  }

  /** A raw string key of the namespace, e.g. {@code counter:<name>}, or null. */
  String raw(String prefix, String suffix) {
    byte[] v = redis.get(b(prefix + ":" + suffix));
    return v == null ? null : new String(v, UTF_8);
  }

  /** Trims the stream exactly to its newest {@code keep} entries; returns how many went. */
  long trim(String prefix, long keep) {
    return redis.xtrim(b(prefix + ":log"), XTrimArgs.Builder.maxlen(keep));
  }

  long streamLength(String prefix) {
    return redis.xlen(b(prefix + ":log"));
  }

  static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private static String readScript(String name) {
    try (InputStream in = RedisSource.class.getResourceAsStream("/io/lockstep/redis/" + name)) {
      return new String(in.readAllBytes(), UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
