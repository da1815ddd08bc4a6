package io.lockstep.redis;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One of the backend's Lua scripts, read from this package's resources. It runs by {@code EVALSHA};
 * when the server answers {@code NOSCRIPT} (first use, a restarted server, {@code SCRIPT FLUSH}) it
 * runs once by {@code EVAL}, which also puts it back into the server's script cache. The SHA-1 is
 * that of the resource's bytes, so another program that sends the same file gets the same SHA.
 * Immutable and thread safe.
 */
final class RedisScript {
  static final RedisScript WRITE = load("write.lua");
  static final RedisScript SNAPSHOT = load("snapshot.lua");
  static final RedisScript RANGE = load("range.lua");
  static final RedisScript GET = load("get.lua");
  static final RedisScript INCREMENT = load("increment.lua");

  private final String name;
  private final byte[] body;
  private final String sha;

  private RedisScript(String name, byte[] body) {
    this.name = name;
    this.body = body;
    this.sha = sha1(body);
  }

  String name() {
    return name;
  }

  /** The script's text. */
  String text() {
    return new String(body, StandardCharsets.UTF_8);
  }

  /** The SHA-1 that {@code EVALSHA} takes. */
  String sha() {
    return sha;
  }

  /** Runs the script; the reply is a list (a Lua table). */
  CompletableFuture<List<Object>> run(
      RedisAsyncCommands<byte[], byte[]> redis, byte[][] keys, byte[]... args) {
    CompletableFuture<List<Object>> bySha =
        redis.<List<Object>>evalsha(sha, ScriptOutputType.MULTI, keys, args).toCompletableFuture();
    return bySha.exceptionallyCompose(
        err ->
            RedisErrors.isNoScript(err)
                ? redis
                    .<List<Object>>eval(body, ScriptOutputType.MULTI, keys, args)
                    .toCompletableFuture()
                : CompletableFuture.failedFuture(err));
  }

  /** {@code EVALSHA} alone (the caller handles {@code NOSCRIPT}). */
  CompletableFuture<List<Object>> evalsha(
      RedisAsyncCommands<byte[], byte[]> redis, byte[][] keys, byte[]... args) {
    return redis
        .<List<Object>>evalsha(sha, ScriptOutputType.MULTI, keys, args)
        .toCompletableFuture();
  }

  /** {@code EVAL} with the script's text. */
  CompletableFuture<List<Object>> eval(
      RedisAsyncCommands<byte[], byte[]> redis, byte[][] keys, byte[]... args) {
    return redis.<List<Object>>eval(body, ScriptOutputType.MULTI, keys, args).toCompletableFuture();
  }

  private static RedisScript load(String name) {
    try (InputStream in = RedisScript.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(
            "script resource io/lockstep/redis/" + name + " is missing from the class path");
      }
      return new RedisScript(name, in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException("reading script " + name, e);
    }
  }

  private static String sha1(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
