package io.lockstep.spi;

import java.util.List;
import java.util.Objects;

/**
 * A {@link FeedListener} that passes every call to another one: extend it and override only the
 * calls a decorator changes (a feed that drops, shifts, rewrites or holds deliveries), as {@link
 * ForwardingBackend} does for a backend. {@link #onEpoch} is forwarded too, not left to {@link
 * FeedListener}'s empty default.
 */
public abstract class ForwardingFeedListener implements FeedListener {
  private final FeedListener delegate;

  protected ForwardingFeedListener(FeedListener delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** The wrapped listener. */
  protected final FeedListener delegate() {
    return delegate;
  }

  @Override
  public void onChanges(long revision, List<Change> changes, long headRevision) {
    delegate.onChanges(revision, changes, headRevision);
  }

  @Override
  public void onProgress(long revision) {
    delegate.onProgress(revision);
  }

  @Override
  public void onCompacted(long compactRevision) {
    delegate.onCompacted(compactRevision);
  }

  @Override
  public void onError(Throwable error) {
    delegate.onError(error);
  }

  @Override
  public void onEpoch(String epoch) {
    delegate.onEpoch(epoch);
  }
}
