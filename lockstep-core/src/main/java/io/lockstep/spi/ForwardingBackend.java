package io.lockstep.spi;

import io.lockstep.WriteResult;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Backend} that passes every call to another one: extend it and override only the calls a
 * decorator changes (fault injection, metrics, a test's gate), instead of forwarding all of them by
 * hand. Every method here calls the same method of {@link #delegate()}, the default methods of
 * {@link Backend} included, so the wrapped backend's own versions of those run (its listing
 * progress, request ids, counters and stats). So a decorator that intercepts a call with two forms
 * ({@code snapshot}, {@code put}, {@code delete}) must override both: the other form no longer
 * reaches it through {@link Backend}'s default.
 */
public abstract class ForwardingBackend implements Backend {
  private final Backend delegate;

  protected ForwardingBackend(Backend delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** The wrapped backend. */
  protected final Backend delegate() {
    return delegate;
  }

  @Override
  public RevisionModel revisionModel() {
    return delegate.revisionModel();
  }

  @Override
  public CompletableFuture<Snapshot> snapshot() {
    return delegate.snapshot();
  }

  @Override
  public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
    return delegate.snapshot(progress);
  }

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    return delegate.watch(fromRevision, listener);
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision) {
    return delegate.put(key, value, contentType, expectedRevision);
  }

  @Override
  public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
    return delegate.delete(key, expectedRevision);
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key,
      byte[] value,
      String contentType,
      long expectedRevision,
      @Nullable String requestId) {
    return delegate.put(key, value, contentType, expectedRevision, requestId);
  }

  @Override
  public CompletableFuture<WriteResult> delete(
      String key, long expectedRevision, @Nullable String requestId) {
    return delegate.delete(key, expectedRevision, requestId);
  }

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    return delegate.get(key);
  }

  @Override
  public Membership membership() {
    return delegate.membership();
  }

  @Override
  public CounterStore counters() {
    return delegate.counters();
  }

  @Override
  public Map<String, Object> stats() {
    return delegate.stats();
  }

  @Override
  public void close() {
    delegate.close();
  }
}
