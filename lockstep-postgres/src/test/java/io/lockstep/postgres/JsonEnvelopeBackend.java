package io.lockstep.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.ForwardingFeedListener;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Snapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * For tests only: lets the contract suites, which write text and binary values of any content type,
 * run unchanged on a mirrored table. It wraps a mirror backend of a table {@code (key text PRIMARY
 * KEY, value text NOT NULL, content_type text NOT NULL)}: a value goes in as the row {@code
 * {"value": <base64>, "content_type": <type>}} and comes back out of every listing, strong read and
 * feed delivery as its bytes and type. Everything else (revisions, conditions, request ids, the
 * trigger, counters, membership) is the mirror backend's own.
 */
final class JsonEnvelopeBackend extends ForwardingBackend {
  private static final ObjectMapper JSON = new ObjectMapper();

  JsonEnvelopeBackend(Backend mirror) {
    super(mirror);
  }

  /** The row a value is written as (without the key, which the backend sets). */
  static byte[] wrap(byte[] value, String contentType) {
    ObjectNode n = JSON.createObjectNode();
    n.put("value", Base64.getEncoder().encodeToString(value));
    n.put("content_type", contentType);
    return n.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A row as the mirror lists it, back to the value written. */
  static Versioned unwrap(Versioned row) {
    try {
      JsonNode n = JSON.readTree(row.value());
      return new Versioned(
          row.key(),
          Base64.getDecoder().decode(n.get("value").asText()),
          n.get("content_type").asText(),
          row.modRevision());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public CompletableFuture<Snapshot> snapshot() {
    return delegate().snapshot().thenApply(JsonEnvelopeBackend::unwrap);
  }

  @Override
  public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
    return delegate().snapshot(progress).thenApply(JsonEnvelopeBackend::unwrap);
  }

  private static Snapshot unwrap(Snapshot s) {
    return new Snapshot(
        s.revision(), s.entries().stream().map(JsonEnvelopeBackend::unwrap).toList(), s.epoch());
  }

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    return delegate()
        .watch(
            fromRevision,
            new ForwardingFeedListener(listener) {
              @Override
              public void onChanges(long revision, List<Change> changes, long headRevision) {
                listener.onChanges(
                    revision,
                    changes.stream()
                        .map(c -> c.value() == null ? c : Change.put(unwrap(c.value())))
                        .toList(),
                    headRevision);
              }
            });
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision) {
    return delegate().put(key, wrap(value, contentType), Source.JSON, expectedRevision);
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision, String requestId) {
    return delegate().put(key, wrap(value, contentType), Source.JSON, expectedRevision, requestId);
  }

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    return delegate()
        .get(key)
        .thenApply(r -> new StrongRead(r.entry() == null ? null : unwrap(r.entry()), r.revision()));
  }
}
