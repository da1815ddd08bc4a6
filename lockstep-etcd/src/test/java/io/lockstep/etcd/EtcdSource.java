package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.lockstep.Digests;
import io.lockstep.process.EtcdProcess;
import io.lockstep.testkit.ReplicationContract;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The source of truth as tests see it, bypassing Lockstep: a plain jetcd client on an {@link
 * EtcdProcess}, for writing "as another program", listing, compacting and reading etcd's metrics.
 */
final class EtcdSource implements ReplicationContract.Source, AutoCloseable {
  private static final String MEMBERS = "_members/";
  private final EtcdProcess etcd;
  private final boolean ownsServer;
  private final Client client;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** A client on {@code etcd}, which stays up when the client closes. */
  EtcdSource(EtcdProcess etcd) {
    this(etcd, false);
  }

  private EtcdSource(EtcdProcess etcd, boolean ownsServer) {
    this(etcd, ownsServer, Client.builder().endpoints(etcd.clientUrl()).build());
  }

  /** A source on {@code etcd} through {@code client} (e.g. over TLS, as a user); owns both. */
  static EtcdSource owning(EtcdProcess etcd, Client client) {
    return new EtcdSource(etcd, true, client);
  }

  private EtcdSource(EtcdProcess etcd, boolean ownsServer, Client client) {
    this.etcd = etcd;
    this.ownsServer = ownsServer;
    this.client = client;
  }

  /**
   * Starts a new etcd (with extra flags {@code etcdArgs}) and returns a client on it that closes
   * the server when it closes; see {@code TestResource}.
   */
  static EtcdSource onNewServer(String... etcdArgs) {
    return new EtcdSource(
        new EtcdProcess(etcdArgs), true); // jetcd connects lazily: building the client cannot fail
  }

  @Override
  public EtcdProcess server() {
    return etcd;
  }

  /** Compacts etcd's history up to its current revision. */
  @Override
  public long loseHistory(String prefix) {
    return compactAll();
  }

  /** A plain put of the bytes: etcd holds no content type, Lockstep tells JSON by its shape. */
  @Override
  public long writeExternally(String prefix, String key, byte[] json) {
    return put(prefix, key, json);
  }

  @Override
  public long deleteExternally(String prefix, String key) {
    return delete(prefix, key);
  }

  /** The cluster's revision: etcd has one for all namespaces. */
  @Override
  public long revision(String prefix) {
    return revision();
  }

  Client client() {
    return client;
  }

  /** Writes raw bytes under {@code <prefix>/<key>}; returns the revision. */
  long put(String prefix, String key, byte[] value) {
    return get(client.getKVClient().put(bytes(prefix + "/" + key), ByteSequence.from(value)))
        .getHeader()
        .getRevision();
  }

  /** Deletes {@code <prefix>/<key>}; returns the revision. */
  long delete(String prefix, String key) {
    return get(client.getKVClient().delete(bytes(prefix + "/" + key))).getHeader().getRevision();
  }

  /** The raw entries of the namespace, membership records included. */
  GetResponse list(String prefix) {
    return get(
        client.getKVClient().get(bytes(prefix + "/"), GetOption.builder().isPrefix(true).build()));
  }

  /** The value under {@code <prefix>/<key>} as text, or null. */
  String raw(String prefix, String key) {
    List<KeyValue> kvs = get(client.getKVClient().get(bytes(prefix + "/" + key))).getKvs();
    return kvs.isEmpty() ? null : kvs.get(0).getValue().toString(UTF_8);
  }

  /**
   * The map as etcd holds it now: key to modification revision (membership records and counters
   * left out).
   */
  @Override
  public Map<String, Long> revisions(String prefix) {
    Map<String, Long> revisions = new TreeMap<>();
    for (KeyValue kv : list(prefix).getKvs()) {
      String key = kv.getKey().toString(UTF_8).substring(prefix.length() + 1);
      if (!key.startsWith(MEMBERS)
          && !key.startsWith("_counters/")
          && !key.startsWith(io.lockstep.LockstepConfig.IDEMPOTENCY_PREFIX)) {
        revisions.put(key, kv.getModRevision());
      }
    }
    return revisions;
  }

  /** The digest of the map as etcd holds it now (map entries only; see {@link Digests}). */
  @Override
  public long digest(String prefix) {
    long d = 0;
    for (KeyValue kv : list(prefix).getKvs()) {
      String key = kv.getKey().toString(UTF_8).substring(prefix.length() + 1);
      if (!io.lockstep.LockstepConfig.isReservedKey(key)) { // members, counters, request ids
        d +=
            Digests.entry(
                key, kv.getModRevision(), EtcdValueCodec.decode(kv.getValue().getBytes()).value());
      }
    }
    return d;
  }

  /** The cluster's current revision. */
  long revision() {
    return get(client.getKVClient().get(bytes("\0"))).getHeader().getRevision();
  }

  /** Compacts history up to the current revision; returns it. */
  long compactAll() {
    long rev = revision();
    get(client.getKVClient().compact(rev));
    return rev;
  }

  /** The number of watchers the server holds now (etcd_debugging_mvcc_watcher_total). */
  long serverWatchers() {
    return (long) metric("etcd_debugging_mvcc_watcher_total");
  }

  double metric(String name) {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(etcd.clientUrl() + "/metrics"))
            .timeout(Duration.ofSeconds(5))
            .build();
    try {
      String body = http.send(req, HttpResponse.BodyHandlers.ofString()).body();
      for (String line : body.split("\n")) {
        if (line.startsWith(name + " ")) {
          return Double.parseDouble(line.substring(name.length() + 1).trim());
        }
      }
      throw new IllegalStateException("no metric " + name + " at " + etcd.clientUrl());
    } catch (IOException e) {
      throw new IllegalStateException("reading metrics of " + etcd, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static ByteSequence bytes(String s) {
    return ByteSequence.from(s, UTF_8);
  }

  static <T> T get(java.util.concurrent.CompletableFuture<T> f) {
    try {
      return f.get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("etcd operation failed: " + e, e);
    }
  }

  /** Closes the client, and the server when this source started it. */
  @Override
  public void close() {
    try {
      client.close();
    } finally {
      if (ownsServer) {
        etcd.close();
      }
    }
  }
}
