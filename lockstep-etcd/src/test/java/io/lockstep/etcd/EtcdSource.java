package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.lockstep.Digests;
import io.lockstep.process.EtcdProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The source of truth as tests see it, bypassing Lockstep: a plain jetcd client on an {@link
 * EtcdProcess}, for writing "as another program", listing, compacting and reading etcd's metrics.
 */
final class EtcdSource implements AutoCloseable {
  private static final String MEMBERS = "_members/";
  private final EtcdProcess etcd;
  private final Client client;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  EtcdSource(EtcdProcess etcd) {
    this.etcd = etcd;
    this.client = Client.builder().endpoints(etcd.clientUrl()).build();
  }

  Client client() {
    return client;
  }

  /** Writes raw bytes under {@code <prefix>/<key>}; returns the revision. */
  long put(String prefix, String key, byte[] value) {
    return get(client.getKVClient().put(bytes(prefix + "/" + key), ByteSequence.from(value))).getHeader().getRevision();
  }

  /** Deletes {@code <prefix>/<key>}; returns the revision. */
  long delete(String prefix, String key) {
    return get(client.getKVClient().delete(bytes(prefix + "/" + key))).getHeader().getRevision();
  }

  /** The raw entries of the namespace, membership records included. */
  GetResponse list(String prefix) {
    return get(client.getKVClient().get(bytes(prefix + "/"), GetOption.builder().isPrefix(true).build()));
  }

  /** The value under {@code <prefix>/<key>} as text, or null. */
  String raw(String prefix, String key) {
    List<KeyValue> kvs = get(client.getKVClient().get(bytes(prefix + "/" + key))).getKvs();
    return kvs.isEmpty() ? null : kvs.get(0).getValue().toString(UTF_8);
  }

  /** The digest of the map as etcd holds it now (membership records left out), see {@link Digests}. */
  long digest(String prefix) {
    long d = 0;
    for (KeyValue kv : list(prefix).getKvs()) {
      String key = kv.getKey().toString(UTF_8).substring(prefix.length() + 1);
      if (!key.startsWith(MEMBERS) && !key.startsWith("_counters/")) {
        d += Digests.entry(key, kv.getModRevision());
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
    HttpRequest req = HttpRequest.newBuilder(URI.create(etcd.clientUrl() + "/metrics")).timeout(Duration.ofSeconds(5)).build();
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

  @Override
  public void close() {
    client.close();
  }
}
