package io.lockstep.spring;

import io.lockstep.TypedMap;
import org.jspecify.annotations.Nullable;
import org.springframework.core.env.EnumerablePropertySource;

/**
 * The keys of one Lockstep typed map of text ({@link io.lockstep.Codec#string()}) as properties:
 * the entry {@code app.greeting} of the map {@code config} (the key {@code config/app.greeting} of
 * the node's replicated map) is the property {@code app.greeting}. Reads go to the typed map's
 * memory, where each value was decoded once when its change was applied: a lookup returns that
 * {@code String}, with no decoding and no copy, and a property changes as soon as this instance has
 * applied the change. Thread safe.
 */
public final class LockstepPropertySource extends EnumerablePropertySource<TypedMap<String>> {
  /** The name of the property source in the environment. */
  public static final String NAME = "lockstep";

  private final String keyPrefix;

  /**
   * @param map the typed map whose keys are properties (e.g. {@code config})
   */
  public LockstepPropertySource(TypedMap<String> map) {
    super(NAME, map);
    this.keyPrefix = map.name() + "/";
  }

  /** The prefix of the replicated map's keys this source reads: {@code <map name>/}. */
  String keyPrefix() {
    return keyPrefix;
  }

  @Override
  public String[] getPropertyNames() {
    return getSource().keys().toArray(String[]::new);
  }

  @Override
  public @Nullable Object getProperty(String name) {
    return name.isEmpty() ? null : getSource().get(name);
  }

  @Override
  public boolean containsProperty(String name) {
    return !name.isEmpty() && getSource().get(name) != null;
  }
}
