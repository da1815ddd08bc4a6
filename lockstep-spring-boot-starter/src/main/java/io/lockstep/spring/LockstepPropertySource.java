package io.lockstep.spring;

import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.core.env.EnumerablePropertySource;

/**
 * The keys of one Lockstep map as properties: the entry {@code <map>/app.greeting} of the node's
 * replicated map is the property {@code app.greeting}, its value the entry's bytes as UTF-8 text
 * (what {@link io.lockstep.Codec#string()} writes). Reads go to the replica's memory, so a property
 * changes as soon as this instance has applied the change. Thread safe.
 */
public final class LockstepPropertySource extends EnumerablePropertySource<ReplicatedMap> {
  /** The name of the property source in the environment. */
  public static final String NAME = "lockstep";

  private final String keyPrefix;

  /**
   * @param map the node's replicated map
   * @param mapName the name of the map whose keys are properties (e.g. {@code config})
   */
  public LockstepPropertySource(ReplicatedMap map, String mapName) {
    super(NAME, map);
    this.keyPrefix = mapName + "/";
  }

  /** The prefix of the replicated map's keys this source reads: {@code <map name>/}. */
  String keyPrefix() {
    return keyPrefix;
  }

  @Override
  public String[] getPropertyNames() {
    List<Versioned> entries = getSource().list(keyPrefix, 0);
    String[] names = new String[entries.size()];
    for (int i = 0; i < names.length; i++) {
      names[i] = entries.get(i).key().substring(keyPrefix.length());
    }
    return names;
  }

  @Override
  public @Nullable Object getProperty(String name) {
    if (name.isEmpty()) {
      return null;
    }
    Versioned v = getSource().get(keyPrefix + name);
    return v == null ? null : new String(v.value(), StandardCharsets.UTF_8);
  }

  @Override
  public boolean containsProperty(String name) {
    return !name.isEmpty() && getSource().get(keyPrefix + name) != null;
  }
}
