package io.lockstep;

/**
 * Loads the value of a key from the slow source (a database, a remote service) for a {@link
 * LoadingGroup}. Runs only on the key's owner (or, when the owner cannot be reached, on the asking
 * instance), at most once per key per instance at a time.
 *
 * <p>A loader that throws fails every caller waiting for that load; the error is not cached, so the
 * next get loads again. A loader that does not return within the group's {@link
 * GroupOptions#loadDeadline() load deadline} is abandoned: its thread is interrupted, its waiters
 * fail, its result (if it ever comes) is dropped, and the next get starts a new load.
 */
@FunctionalInterface
public interface Loader {
  /**
   * The value of {@code key}.
   *
   * @throws Exception any failure; its message reaches the callers (also over the peer protocol)
   */
  Loaded load(String key) throws Exception;
}
