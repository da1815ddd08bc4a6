package io.lockstep;

/**
 * Receives the changes an instance applies, in revision order, on the single thread that applies
 * them. A listener must return quickly and hand long work to its own executor: while it runs, no
 * further change is applied. An exception thrown by a listener is logged and does not stop others.
 */
@FunctionalInterface
public interface ChangeListener {
  void onChange(ChangeEvent event);
}
