package io.lockstep.redis;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.lettuce.core.ClientOptions;
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
import io.lockstep.testkit.ReplicationContract;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The source of truth as tests see it, bypassing Lockstep: a plain Lettuce client of its own on a
 * {@link RedisProcess}, which writes "as another program" exactly as docs/backends/redis.md tells
 * such programs to: {@code EVALSHA} of the shipped {@code write.lua}, {@code EVAL} on {@code
 * NOSCRIPT}. It shares no code with the backend but the script file and the codec used to read
 * envelopes back.
 */
final class RedisSource implements ReplicationContract.Source, AutoCloseable {
  static final String WRITE_LUA = readScript("write.lua");

  private final RedisProcess server;
  private final boolean ownsServer;
  private final RedisClient client;
  private final StatefulRedisConnection<byte[], byte[]> connection;
  private final RedisCommands<byte[], byte[]> redis;
  private final long streamMaxLen;

  /** A client on {@code server}, which stays up when the client closes. */
  RedisSource(RedisProcess server) {
    this(server, RedisSettings.DEFAULT_STREAM_MAX_LEN);
  }

  /** As above, writing with {@code stream_max_len} {@code streamMaxLen}. */
  RedisSource(RedisProcess server, long streamMaxLen) {
    this(server, streamMaxLen, false);
  }

  private RedisSource(RedisProcess server, long streamMaxLen, boolean ownsServer) {
    this(
        server,
        streamMaxLen,
        ownsServer,
        RedisURI.builder()
            .withHost("127.0.0.1")
            .withPort(server.port())
            .withTimeout(Duration.ofSeconds(10))
            .build(),
        null);
  }

  /**
   * A client on {@code server} at {@code uri} (e.g. {@code rediss} with a user), with {@code
   * options} (e.g. its TLS trust) when not null; closes the server when it closes.
   */
  static RedisSource owning(RedisProcess server, RedisURI uri, ClientOptions options) {
    try {
      return new RedisSource(server, RedisSettings.DEFAULT_STREAM_MAX_LEN, true, uri, options);
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
  }

  private RedisSource(
      RedisProcess server,
      long streamMaxLen,
      boolean ownsServer,
      RedisURI uri,
      ClientOptions options) {
    this.server = server;
    this.ownsServer = ownsServer;
    this.client = RedisClient.create(uri);
    if (options != null) {
      client.setOptions(options);
    }
    this.connection = client.connect(ByteArrayCodec.INSTANCE);
    this.redis = connection.sync();
    this.streamMaxLen = streamMaxLen;
  }

  /**
   * Starts a new Redis without persistence and returns a client on it that closes the server when
   * it closes; see {@code TestResource}.
   */
  static RedisSource onNewServer() {
    return owning(new RedisProcess());
  }

  /** As {@link #onNewServer()}, with an append-only file: the data survives a stop and a start. */
  static RedisSource onNewServerWithAof() {
    return owning(RedisProcess.withAof());
  }

  private static RedisSource owning(RedisProcess server) {
    try {
      return new RedisSource(server, RedisSettings.DEFAULT_STREAM_MAX_LEN, true);
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
  }

  @Override
  public RedisProcess server() {
    return server;
  }

  /** Trims the stream to its newest 10 entries. */
  @Override
  public long loseHistory(String prefix) {
    trim(prefix, 10);
    return revision(prefix);
  }

  /** Through the shipped script, as {@code application/json}. */
  @Override
  public long writeExternally(String prefix, String key, byte[] json) {
    return (Long) put(prefix, key, json, "application/json").get(1);
  }

  @Override
  public long deleteExternally(String prefix, String key) {
    return (Long) delete(prefix, key).get(1);
  }

  /** The namespace's {@code :rev} counts its map writes only. */
  @Override
  public boolean revisionsCountWrites() {
    return true;
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

  List<Object> write(
      String prefix, String op, String key, long expected, String contentType, byte[] value) {
    byte[][] keys = {b(prefix + ":rev"), b(prefix + ":data"), b(prefix + ":log")};
    byte[][] args = {
      b(op),
      b(key),
      b(Long.toString(expected)),
      b(contentType),
      value,
      b(Long.toString(streamMaxLen)),
      b(prefix + ":changes")
    };
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

  /** The map as Redis holds it now (the data hash): key to modification revision. */
  @Override
  public Map<String, Long> revisions(String prefix) {
    Map<String, Long> revisions = new TreeMap<>();
    for (Map.Entry<byte[], byte[]> e : redis.hgetall(b(prefix + ":data")).entrySet()) {
      String key = new String(e.getKey(), UTF_8);
      revisions.put(key, RedisValueCodec.decodeEnvelope(key, e.getValue()).modRevision());
    }
    return revisions;
  }

  /** The digest of the map as Redis holds it now (the data hash; see {@link Digests}). */
  @Override
  public long digest(String prefix) {
    long d = 0;
    for (Map.Entry<byte[], byte[]> e : redis.hgetall(b(prefix + ":data")).entrySet()) {
      d +=
          Digests.entry(
              RedisValueCodec.decodeEnvelope(new String(e.getKey(), UTF_8), e.getValue()));
    }
    return d;
  }

  /** The map's revision counter. */
  @Override
  public long revision(String prefix) {
    byte[] v = redis.get(b(prefix + ":rev"));
    return v == null ? 0 : Long.parseLong(new String(v, UTF_8));
  }

  /** A raw string key of the namespace, e.g. {@code counter:<name>}, or null. */
  String raw(String prefix, String suffix) {
    byte[] v = redis.get(b(prefix + ":" + suffix));
    return v == null ? null : new String(v, UTF_8);
  }

  /** Sets a raw string key of the namespace for a minute, without announcing anything. */
  void rawSet(String prefix, String suffix, byte[] value) {
    redis.set(b(prefix + ":" + suffix), value, io.lettuce.core.SetArgs.Builder.px(60_000));
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

  /** Closes the client, and the server when this source started it. */
  @Override
  public void close() {
    try {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    } finally {
      if (ownsServer) {
        server.close();
      }
    }
  }
}
