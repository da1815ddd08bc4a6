package io.lockstep.internal;

import io.lockstep.ChangeEvent;
import io.lockstep.ChangeListener;
import io.lockstep.Codec;
import io.lockstep.Registration;
import io.lockstep.ReplicatedMap;
import io.lockstep.TypedChangeEvent;
import io.lockstep.TypedChangeListener;
import io.lockstep.TypedEntry;
import io.lockstep.TypedMap;
import io.lockstep.ValueDecodeException;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * A {@link TypedMap}: the keys {@code <name>/} of the node's replicated map, decoded once into a
 * store of its own.
 *
 * <p>The store is two {@link ConcurrentHashMap}s keyed by the short key, written only on the
 * applier thread: {@code values} holds the decoded object itself (or a marker for an undecodable
 * value), so a read is one lookup with no further indirection, as a plain map of the objects would
 * be; {@code entries} holds the {@link TypedEntry} (revision, content type, failure). A change
 * listener (one call per revision) decodes each change of this map's namespace, puts or removes
 * both, then publishes the revision ({@code seen}). The map is opened between two steps on the
 * applier ({@link Replicator#readBetweenSteps}), which registers the listener and loads the entries
 * held at that instant in one go, so no change falls between the load and the first call. A read is
 * one {@code get} on {@code values} and returns the stored object. A write goes through the untyped
 * map and then waits, without blocking a thread, until {@code seen} reaches its revision, so the
 * writer reads its own write here too.
 */
final class CodecMap<V> implements TypedMap<V>, ChangeListener {
  private static final System.Logger LOG = System.getLogger(CodecMap.class.getName());
  private static final Object UNDECODABLE = new Object();

  private final String name;
  private final String prefix; // name + "/"
  private final Codec<V> codec;
  private final Replicator map;
  private final Executor callbackExecutor;
  private final Duration waitBound;
  // The read path's map: the decoded value itself (one lookup, no indirection), or UNDECODABLE.
  private final ConcurrentHashMap<String, Object> values = new ConcurrentHashMap<>();
  // The entries (revision, content type, failure), for getEntry and events; written before values.
  private final ConcurrentHashMap<String, TypedEntry<V>> entries = new ConcurrentHashMap<>();
  private final Set<String> keys = Collections.unmodifiableSet(values.keySet());
  private final CopyOnWriteArrayList<TypedChangeListener<V>> listeners =
      new CopyOnWriteArrayList<>();
  private final AtomicLong decodeFailures = new AtomicLong();
  private final PriorityQueue<Waiter> waiters = // guarded by itself
      new PriorityQueue<>((a, b) -> Long.compare(a.revision, b.revision));
  private volatile long seen; // the last revision this store has taken
  private @Nullable Registration registration; // applier thread only

  private record Waiter(long revision, WriteResult result, CompletableFuture<WriteResult> done) {}

  private CodecMap(
      String name, Codec<V> codec, Replicator map, Executor callbackExecutor, Duration waitBound) {
    this.name = name;
    this.prefix = name + "/";
    this.codec = codec;
    this.map = map;
    this.callbackExecutor = callbackExecutor;
    this.waitBound = waitBound;
  }

  /** Opens the map {@code name} on {@code map}: listener and first load on the applier. */
  static <V> CodecMap<V> open(
      String name, Codec<V> codec, Replicator map, Executor callbackExecutor, Duration waitBound) {
    map.checkMayBlock("opening typed map '" + name + "'");
    CodecMap<V> m = new CodecMap<>(name, codec, map, callbackExecutor, waitBound);
    BackendCalls.join(
        map.readBetweenSteps(
            (applied, entries) -> {
              List<TypedEntry<V>> loaded = new ArrayList<>();
              for (Versioned v : entries) {
                if (v.key().startsWith(m.prefix)) {
                  String k = v.key().substring(m.prefix.length());
                  loaded.add(m.decode(k, v));
                }
              }
              // Each map filled in a loop of its own, after decoding: its nodes lie together in
              // memory as a map built in one go would, not between the decoder's objects.
              for (TypedEntry<V> e : loaded) {
                m.entries.put(e.key(), e);
              }
              for (TypedEntry<V> e : loaded) {
                m.values.put(e.key(), e.isDecoded() ? e.value() : UNDECODABLE);
              }
              m.registration = map.addListener(m);
              m.advance(applied);
              return m;
            }));
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // The applier's side
  // ---------------------------------------------------------------------------------------------

  private TypedEntry<V> decode(String key, Versioned v) {
    try {
      return TypedEntry.decoded(key, codec.decode(v.value()), v.contentType(), v.modRevision());
    } catch (RuntimeException e) {
      decodeFailures.incrementAndGet();
      ValueDecodeException failure =
          new ValueDecodeException(name, key, v.modRevision(), v.contentType(), e);
      LOG.log(Level.WARNING, failure.getMessage());
      return TypedEntry.failed(key, failure, v.contentType(), v.modRevision());
    }
  }

  @Override
  public void onChange(ChangeEvent event) {
    onRevision(event.revision(), List.of(event));
  }

  @Override
  public void onRevision(long revision, List<ChangeEvent> events) {
    List<TypedChangeEvent<V>> typed = null;
    for (ChangeEvent e : events) {
      if (!e.key().startsWith(prefix)) {
        continue;
      }
      String k = e.key().substring(prefix.length());
      TypedEntry<V> now = null;
      TypedEntry<V> before;
      Versioned v = e.value();
      if (e.type() == ChangeEvent.Type.PUT && v != null) {
        now = decode(k, v);
        before = install(k, now);
      } else {
        values.remove(k);
        before = entries.remove(k);
      }
      if (!listeners.isEmpty()) {
        if (typed == null) {
          typed = new ArrayList<>();
        }
        typed.add(new TypedChangeEvent<>(e.type(), k, now, before, revision, e.fromRelist()));
      }
    }
    advance(revision);
    if (typed != null) {
      for (TypedChangeListener<V> l : listeners) {
        for (TypedChangeEvent<V> te : typed) {
          try {
            l.onChange(te);
          } catch (Throwable t) { // the store has taken the change; the other listeners go on
            LOG.log(
                Level.WARNING,
                "typed map '" + name + "': listener failed on key '" + te.key() + "'",
                t);
          }
        }
      }
    }
  }

  /** Puts {@code e} under {@code key}: the entry first, so a reader of UNDECODABLE finds it. */
  private @Nullable TypedEntry<V> install(String key, TypedEntry<V> e) {
    TypedEntry<V> before = entries.put(key, e);
    values.put(key, e.isDecoded() ? e.value() : UNDECODABLE);
    return before;
  }

  /** Publishes {@code revision} as taken and releases the writes waiting for it. */
  private void advance(long revision) {
    if (revision <= seen) {
      return;
    }
    seen = revision;
    List<Waiter> ready = null;
    synchronized (waiters) {
      while (!waiters.isEmpty() && waiters.peek().revision <= revision) {
        if (ready == null) {
          ready = new ArrayList<>();
        }
        ready.add(waiters.poll());
      }
    }
    if (ready != null) {
      for (Waiter w : ready) {
        callbackExecutor.execute(() -> w.done.complete(w.result));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reads
  // ---------------------------------------------------------------------------------------------

  @Override
  @SuppressWarnings("unchecked")
  public @Nullable V get(String key) {
    Object v = values.get(key);
    if (v != UNDECODABLE) {
      return (V) v;
    }
    TypedEntry<V> e = entries.get(key); // throws the failure, or a value written since
    return e == null ? null : e.value();
  }

  @Override
  public @Nullable TypedEntry<V> getEntry(String key) {
    return entries.get(key);
  }

  @Override
  public int size() {
    return values.size();
  }

  @Override
  public Set<String> keys() {
    return keys;
  }

  @Override
  public long decodeFailures() {
    return decodeFailures.get();
  }

  // ---------------------------------------------------------------------------------------------
  // Writes
  // ---------------------------------------------------------------------------------------------

  private String full(String key) {
    if (key.isEmpty()) {
      throw new IllegalArgumentException("typed map '" + name + "': empty key");
    }
    return prefix + key;
  }

  /**
   * {@code write}'s result once this store has taken its revision (an applied write), or at once (a
   * conflict, a not-found); bounded by the operation timeout, after which the result is given as it
   * is (the untyped map holds the write).
   */
  private CompletableFuture<WriteResult> taken(CompletableFuture<WriteResult> write) {
    return write.thenCompose(
        r -> {
          if (!r.isApplied() || r.revision() <= seen) {
            return CompletableFuture.completedFuture(r);
          }
          CompletableFuture<WriteResult> done = new CompletableFuture<>();
          synchronized (waiters) {
            if (r.revision() > seen) {
              waiters.add(new Waiter(r.revision(), r, done));
            } else {
              done.complete(r);
            }
          }
          return done.completeOnTimeout(r, waitBound.toMillis(), TimeUnit.MILLISECONDS);
        });
  }

  private WriteResult block(CompletableFuture<WriteResult> write) {
    return BackendCalls.join(taken(write));
  }

  @Override
  public WriteResult put(String key, V value) {
    map.checkMayBlock("typed put of '" + key + "'");
    return block(map.putAsync(full(key), codec.encode(value), codec.contentType()));
  }

  @Override
  public CompletableFuture<WriteResult> putAsync(String key, V value) {
    return taken(map.putAsync(full(key), codec.encode(value), codec.contentType()));
  }

  @Override
  public WriteResult compareAndSet(String key, long expectedRevision, V value) {
    map.checkMayBlock("typed compareAndSet of '" + key + "'");
    return block(
        map.compareAndSetAsync(
            full(key), expectedRevision, codec.encode(value), codec.contentType()));
  }

  @Override
  public WriteResult delete(String key) {
    map.checkMayBlock("typed delete of '" + key + "'");
    return block(map.deleteAsync(full(key)));
  }

  @Override
  public WriteResult compareAndDelete(String key, long expectedRevision) {
    map.checkMayBlock("typed compareAndDelete of '" + key + "'");
    return block(map.compareAndDeleteAsync(full(key), expectedRevision));
  }

  // ---------------------------------------------------------------------------------------------
  // The rest
  // ---------------------------------------------------------------------------------------------

  @Override
  public Registration addListener(TypedChangeListener<V> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Codec<V> codec() {
    return codec;
  }

  @Override
  public ReplicatedMap untyped() {
    return map;
  }

  @Override
  public String toString() {
    return "TypedMap[" + name + ", " + codec + ", keys=" + values.size() + "]";
  }
}
