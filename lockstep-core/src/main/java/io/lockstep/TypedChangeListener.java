package io.lockstep;

/**
 * Receives a {@link TypedMap}'s changes in revision order, on the replication thread, with the same
 * rules as a {@link ChangeListener}: return quickly, never block on the map; what it throws is
 * logged and stops neither the other listeners nor the map.
 *
 * @param <V> the value type
 */
@FunctionalInterface
public interface TypedChangeListener<V> {

  /** One change, after the typed map's store has taken it. */
  void onChange(TypedChangeEvent<V> event);
}
