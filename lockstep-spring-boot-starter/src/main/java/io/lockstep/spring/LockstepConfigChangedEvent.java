package io.lockstep.spring;

import java.util.Map;
import java.util.Set;
import org.springframework.context.ApplicationEvent;

/**
 * Published once per applied revision that changed keys of the live-config map, after the
 * {@code @ConfigurationProperties} beans those keys cover were rebound. Published on the starter's
 * own thread ({@code lockstep-config}), never on the replication thread; one at a time, in revision
 * order.
 */
public final class LockstepConfigChangedEvent extends ApplicationEvent {
  private static final long serialVersionUID = 1L;

  private final Set<String> keys;
  private final long revision;
  private final Set<String> reboundBeans;
  private final Map<String, String> failedBeans;

  /**
   * @param source the live-config component that published it
   * @param keys the property names that changed (written or removed)
   * @param revision the revision that changed them, applied on this instance
   * @param reboundBeans the names of the beans rebound in place
   * @param failedBeans the beans the change covered but that were left as they were, by name, with
   *     the reason (a value that does not bind, or a constructor-bound bean)
   */
  public LockstepConfigChangedEvent(
      Object source,
      Set<String> keys,
      long revision,
      Set<String> reboundBeans,
      Map<String, String> failedBeans) {
    super(source);
    this.keys = Set.copyOf(keys);
    this.revision = revision;
    this.reboundBeans = Set.copyOf(reboundBeans);
    this.failedBeans = Map.copyOf(failedBeans);
  }

  /** The property names that changed in this revision. */
  public Set<String> keys() {
    return keys;
  }

  /** The revision of the change, already applied on this instance. */
  public long revision() {
    return revision;
  }

  /** The names of the {@code @ConfigurationProperties} beans rebound in place. */
  public Set<String> reboundBeans() {
    return reboundBeans;
  }

  /**
   * The beans the change covered but left untouched, by name, with why: a value that failed to bind
   * (the bean keeps every old value), or a constructor-bound bean (immutable).
   */
  public Map<String, String> failedBeans() {
    return failedBeans;
  }

  @Override
  public String toString() {
    return "LockstepConfigChangedEvent[revision="
        + revision
        + ", keys="
        + keys
        + ", rebound="
        + reboundBeans
        + ", failed="
        + failedBeans
        + "]";
  }
}
