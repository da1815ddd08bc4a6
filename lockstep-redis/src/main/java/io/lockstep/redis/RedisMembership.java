package io.lockstep.redis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.KeyValue;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lockstep.Member;
import io.lockstep.spi.MemberWatchers;
import io.lockstep.spi.Membership;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Membership records {@code <ns>:members:<id>}, each a string {@code {"id","url","startedAt"}} (an
 * ISO-8601 instant) set with a TTL of {@code member_ttl} and set again every third of it while the
 * registration is open, so a record lives through two failed refreshes and disappears by itself
 * about {@code member_ttl} after its instance died or lost Redis. Closing deletes it. {@link
 * #members()} scans the records ({@code SCAN MATCH}, then {@code MGET}). A registration and a
 * deregistration each publish the member's id on {@code <ns>:membership}, for {@link #watch}: a
 * join or a clean leave is seen within a round trip or two, a crashed instance within {@code
 * member_ttl} plus half a second ({@link RedisMembersWatch}). Thread safe.
 */
final class RedisMembership implements Membership {
  private static final System.Logger LOG = System.getLogger(RedisMembership.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RedisBackend backend;
  private final String prefix;
  private final Duration ttl;
  private final Set<Registration> open = ConcurrentHashMap.newKeySet();
  private final Set<RedisMembersWatch> watches = ConcurrentHashMap.newKeySet();
  private final MemberWatchers watchers;

  RedisMembership(RedisBackend backend, String prefix, Duration ttl) {
    this.backend = backend;
    this.prefix = prefix;
    this.ttl = ttl;
    this.watchers =
        new MemberWatchers(
            "redis " + prefix,
            sink -> {
              RedisMembersWatch w = new RedisMembersWatch(backend, this, sink);
              watches.add(w);
              w.start();
              return w;
            });
  }

  @Override
  public io.lockstep.Registration watch(Consumer<List<Member>> listener) {
    return watchers.watch(listener);
  }

  /** A message on the membership channel. On Lettuce's thread: hands over only. */
  void onMessage() {
    for (RedisMembersWatch w : watches) {
      w.onMessage();
    }
  }

  void onPubSubDisconnected() {
    for (RedisMembersWatch w : watches) {
      w.onDisconnected();
    }
  }

  void forget(RedisMembersWatch w) {
    watches.remove(w);
  }

  /** Which of {@code members} still have their record (one {@code MGET}), as they read now. */
  CompletableFuture<List<Member>> present(List<Member> members) {
    if (members.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    byte[][] keys =
        members.stream().map(m -> RedisBackend.bytes(prefix + m.id())).toArray(byte[][]::new);
    return backend.mapped(
        backend
            .commands()
            .thenCompose(r -> r.mget(keys).toCompletableFuture())
            .thenApply(RedisMembership::parseAll),
        "membership check",
        false);
  }

  @Override
  public CompletableFuture<Membership.Registration> register(Member self) {
    Registration r = new Registration(self);
    return r.refresh()
        .handle(
            (ok, err) -> {
              if (err != null) {
                throw backend.translate(
                    err, "membership registration of '" + self.id() + "'", true);
              }
              open.add(r);
              announce(r.id);
              r.task =
                  backend.scheduleAtFixedRate(r::refreshQuietly, Math.max(100, ttl.toMillis() / 3));
              return r;
            });
  }

  @Override
  public CompletableFuture<List<Member>> members() {
    String pattern = escapeGlob(prefix) + "*";
    CompletableFuture<List<Member>> f =
        backend
            .commands()
            .thenCompose(r -> scan(r, ScanCursor.INITIAL, pattern, new ArrayList<>()))
            .thenCompose(
                keys ->
                    keys.isEmpty()
                        ? CompletableFuture.completedFuture(List.<Member>of())
                        : backend
                            .commands()
                            .thenCompose(
                                r -> r.mget(keys.toArray(byte[][]::new)).toCompletableFuture())
                            .thenApply(RedisMembership::parseAll));
    return backend.mapped(f, "membership listing", false);
  }

  private CompletableFuture<List<byte[]>> scan(
      RedisAsyncCommands<byte[], byte[]> r, ScanCursor cursor, String pattern, List<byte[]> acc) {
    return r.scan(cursor, ScanArgs.Builder.matches(pattern).limit(1000))
        .toCompletableFuture()
        .thenCompose(
            (KeyScanCursor<byte[]> c) -> {
              acc.addAll(c.getKeys());
              return c.isFinished()
                  ? CompletableFuture.completedFuture(acc)
                  : scan(r, c, pattern, acc);
            });
  }

  private static List<Member> parseAll(List<KeyValue<byte[], byte[]>> values) {
    Map<String, Member> members = new LinkedHashMap<>();
    for (KeyValue<byte[], byte[]> kv : values) {
      if (kv.hasValue()) {
        Member m = parse(kv.getValue());
        if (m != null) {
          members.put(m.id(), m);
        } else {
          LOG.log(
              Level.DEBUG,
              "ignoring a malformed membership record at {0}",
              new String(kv.getKey(), StandardCharsets.UTF_8));
        }
      }
    }
    return List.copyOf(members.values());
  }

  static Member parse(byte[] json) {
    try {
      JsonNode n = JSON.readTree(json);
      if (n == null || !n.hasNonNull("id") || !n.hasNonNull("startedAt")) {
        return null;
      }
      return new Member(
          n.get("id").asText(),
          n.hasNonNull("url") ? n.get("url").asText() : "",
          Instant.parse(n.get("startedAt").asText()));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  static byte[] json(Member m) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("id", m.id());
    fields.put("url", m.url());
    fields.put("startedAt", m.startedAt().toString());
    try {
      return JSON.writeValueAsBytes(fields);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Publishes {@code id} on the membership channel, for watches; a lost message is found later. */
  private CompletableFuture<Void> announce(byte[] id) {
    return backend
        .publishMembership(id)
        .handle(
            (n, err) -> {
              if (err != null) {
                LOG.log(Level.DEBUG, "membership announcement failed: {0}", err.toString());
              }
              return null;
            });
  }

  /** Deletes every open registration, each bounded by the backend's timeout; stops every watch. */
  void closeAll() {
    watchers.close();
    for (Registration r : List.copyOf(open)) {
      r.close();
    }
  }

  private static String escapeGlob(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        b.append('\\');
      }
      b.append(c);
    }
    return b.toString();
  }

  private final class Registration implements Membership.Registration {
    private final byte[] id;
    private final byte[] key;
    private final byte[] value;
    private volatile ScheduledFuture<?> task;
    private volatile boolean closed;

    Registration(Member self) {
      this.id = RedisBackend.bytes(self.id());
      this.key = RedisBackend.bytes(prefix + self.id());
      this.value = json(self);
    }

    CompletableFuture<String> refresh() {
      return backend
          .commands()
          .thenCompose(
              r -> r.set(key, value, SetArgs.Builder.px(ttl.toMillis())).toCompletableFuture());
    }

    void refreshQuietly() {
      if (closed) {
        return;
      }
      refresh()
          .whenComplete(
              (ok, err) -> {
                if (err != null) {
                  LOG.log(
                      Level.DEBUG,
                      "membership refresh of {0} failed: {1}",
                      new String(key, StandardCharsets.UTF_8),
                      err.toString());
                }
              });
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      open.remove(this);
      ScheduledFuture<?> t = task;
      if (t != null) {
        t.cancel(false);
      }
      try {
        backend
            .commands()
            .thenCompose(r -> r.del(key).toCompletableFuture())
            .thenCompose(n -> announce(id))
            .get(backend.timeoutMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        LOG.log(
            Level.DEBUG,
            "deleting membership record failed (it expires by itself): {0}",
            e.toString());
      }
    }
  }
}
