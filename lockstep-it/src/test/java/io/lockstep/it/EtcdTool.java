package io.lockstep.it;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.lockstep.Digests;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Talks to etcd directly, bypassing Lockstep: writes as another program would, compacts, and
 * computes the digest of a fresh listing of a key prefix.
 */
final class EtcdTool implements AutoCloseable {
  private final Client client;
  private final String prefix;

  EtcdTool(String endpoint, String keyPrefix) {
    this.client = Client.builder().endpoints(endpoint).build();
    this.prefix = keyPrefix + "/";
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  /** Puts raw bytes at {@code <prefix>/<key>}; returns the revision. */
  long put(String key, String rawValue) throws Exception {
    return client
        .getKVClient()
        .put(bytes(prefix + key), bytes(rawValue))
        .get(10, TimeUnit.SECONDS)
        .getHeader()
        .getRevision();
  }

  /**
   * Deletes {@code <prefix>/<key>}; returns the revision (etcd's current one when it was absent).
   */
  long delete(String key) throws Exception {
    return client
        .getKVClient()
        .delete(bytes(prefix + key))
        .get(10, TimeUnit.SECONDS)
        .getHeader()
        .getRevision();
  }

  /** The mod revision etcd holds for a map key, 0 when there is none. */
  long modRevision(String key) throws Exception {
    var kvs = client.getKVClient().get(bytes(prefix + key)).get(10, TimeUnit.SECONDS).getKvs();
    return kvs.isEmpty() ? 0 : kvs.get(0).getModRevision();
  }

  /** The current revision of the whole etcd cluster. */
  long revision() throws Exception {
    return client
        .getKVClient()
        .get(bytes(prefix), GetOption.builder().withCountOnly(true).build())
        .get(10, TimeUnit.SECONDS)
        .getHeader()
        .getRevision();
  }

  /** Compacts history up to the current revision; returns it. */
  long compactToLatest() throws Exception {
    long rev = revision();
    client.getKVClient().compact(rev).get(10, TimeUnit.SECONDS);
    return rev;
  }

  /** The digest of the map as etcd holds it now (membership records excluded, values included). */
  String digest() throws Exception {
    GetResponse r =
        client
            .getKVClient()
            .get(bytes(prefix), GetOption.builder().isPrefix(true).build())
            .get(10, TimeUnit.SECONDS);
    long d = 0;
    for (KeyValue kv : r.getKvs()) {
      String key = kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length());
      if (!io.lockstep.LockstepConfig.isReservedKey(key)) { // members, counters, request ids
        d +=
            Digests.entry(
                key,
                kv.getModRevision(),
                io.lockstep.etcd.EtcdValueCodec.decode(kv.getValue().getBytes()).value());
      }
    }
    return Digests.hex(d);
  }

  /** The number of map keys etcd holds under the prefix. */
  boolean exists(String key) throws Exception {
    return client.getKVClient().get(bytes(prefix + key)).get(10, TimeUnit.SECONDS).getCount() == 1;
  }

  /** The value etcd holds for a map key, as UTF-8, or null when there is none. */
  String value(String key) throws Exception {
    var kvs = client.getKVClient().get(bytes(prefix + key)).get(10, TimeUnit.SECONDS).getKvs();
    return kvs.isEmpty()
        ? null
        : kvs.get(0).getValue().toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    client.close();
  }
}
