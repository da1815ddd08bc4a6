package io.lockstep.spi;

/** A running change feed. Closing it stops delivery; closing twice is harmless. */
public interface Feed extends AutoCloseable {

  /**
   * Asks the source to confirm progress with {@link FeedListener#onProgress(long)} soon.
   *
   * @return false when this feed cannot do that; the engine then does not use progress to detect a
   *     dead feed
   */
  boolean requestProgress();

  @Override
  void close();
}
