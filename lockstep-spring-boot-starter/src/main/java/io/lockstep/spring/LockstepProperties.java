package io.lockstep.spring;

import io.lockstep.ReplicaMode;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The {@code lockstep.*} properties: how the starter builds the application's {@link
 * io.lockstep.Lockstep} node, and what it does with it. Every property and its default is listed in
 * {@code docs/spring.md}.
 *
 * @param backend the backend URI; default {@code peer:} (the embedded peer backend; alone, a group
 *     of one), as {@code lockstep serve}'s
 * @param keyPrefix the namespace within the backend; default {@code lockstep}
 * @param instanceId this instance's id; default a generated one
 * @param advertiseUrl the URL other instances reach this one at; default empty
 * @param operationTimeout how long a backend operation may take; default 3 s
 * @param mode {@code full} (default) or {@code near}; live config and the cache need {@code full}
 * @param startupTimeout how long the node bean waits for the first listing before the context fails
 *     to start; 0 does not wait (the map may be empty while the first beans are created); default
 *     30 s
 * @param peerSecret the cluster's peer credential: sent when {@link io.lockstep.Lockstep#fleet()}
 *     asks the members, required by this node's listener; default none
 * @param listen the node's embedded listener (see {@link Listen})
 * @param config live configuration from a map (see {@link Config})
 * @param cache Spring Cache over typed maps (see {@link Cache})
 */
@ConfigurationProperties("lockstep")
public record LockstepProperties(
    @DefaultValue("peer:") String backend,
    @DefaultValue("lockstep") String keyPrefix,
    @Nullable String instanceId,
    @DefaultValue("") String advertiseUrl,
    @DefaultValue("3s") Duration operationTimeout,
    @DefaultValue("full") ReplicaMode mode,
    @DefaultValue("30s") Duration startupTimeout,
    @Nullable String peerSecret,
    @DefaultValue Listen listen,
    @DefaultValue Config config,
    @DefaultValue Cache cache) {

  /**
   * The node's embedded listener ({@link io.lockstep.LockstepBuilder#listen}), serving {@code GET
   * /_lockstep/replica} so that the other members' {@link io.lockstep.Lockstep#fleet()} and {@link
   * io.lockstep.Lockstep#awaitFleet} can ask this one for its applied revision. With an empty
   * {@code lockstep.advertise-url} the node advertises the listener's own URL.
   *
   * @param address the address to bind; default {@code 127.0.0.1}
   * @param port the TCP port; 0 picks a free one; -1 (the default) runs no listener (an application
   *     whose HTTP server serves the path itself, or that does not ask the fleet)
   */
  public record Listen(@DefaultValue("127.0.0.1") String address, @DefaultValue("-1") int port) {}

  /**
   * Live configuration: the keys of the typed map {@code map} are property names, its values their
   * values (UTF-8 text), in a property source at the head of the environment.
   *
   * @param enabled whether the property source and the rebinding are set up; default true
   * @param map the map's name: its keys are {@code <map>/<property>} in the node's map; default
   *     {@code config}
   */
  public record Config(@DefaultValue("true") boolean enabled, @DefaultValue("config") String map) {}

  /**
   * Spring Cache over Lockstep typed maps ({@link LockstepCacheManager}).
   *
   * @param enabled whether the cache manager is configured (when caching is enabled and no other
   *     cache manager is defined); default true
   * @param names the caches, created at start; empty (the default): created on first use
   * @param mapPrefix the prefix of each cache's map name, {@code <mapPrefix><cache name>}; default
   *     {@code cache.}
   * @param allowNullValues whether null values are cached (as a marker); default true
   */
  public record Cache(
      @DefaultValue("true") boolean enabled,
      @DefaultValue List<String> names,
      @DefaultValue("cache.") String mapPrefix,
      @DefaultValue("true") boolean allowNullValues) {}
}
