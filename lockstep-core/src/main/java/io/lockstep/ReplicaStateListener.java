package io.lockstep;

/**
 * Receives a replica's state changes ({@link ReplicaState}), in the order they happened, one at a
 * time, on a notification thread of the replica's own: never on the thread that applies changes and
 * never while the engine holds a lock, so a listener may call any method of the map, even a
 * blocking one. A slow listener delays only later state notifications. An exception thrown by a
 * listener is logged and does not stop others.
 */
@FunctionalInterface
public interface ReplicaStateListener {

  /**
   * The replica went from {@code previous} to {@code current}. By the time it runs, {@link
   * Replica#state()} may already report a later state.
   */
  void onStateChange(ReplicaState previous, ReplicaState current);
}
