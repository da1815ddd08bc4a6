package io.lockstep;

import io.lockstep.internal.LockstepNode;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One instance's handle on a Lockstep cluster: its replicated map and its view of the members.
 *
 * <pre>{@code
 * try (Lockstep node = Lockstep.builder()
 *     .backend("etcd://127.0.0.1:2379")
 *     .keyPrefix("orders")
 *     .build()) {
 *   node.map().put("greeting", "hi".getBytes(UTF_8), "text/plain");
 *   Versioned v = node.map().get("greeting"); // from memory
 * }
 * }</pre>
 *
 * <p>{@link #start()} lists the map and registers this instance; {@link #close()} deregisters it
 * and releases the backend. Thread safe.
 */
public interface Lockstep extends AutoCloseable {

  /** A builder; see {@link LockstepBuilder} for every setting and its default. */
  static LockstepBuilder builder() {
    return new LockstepBuilder();
  }

  /** Creates and starts a node from a validated configuration. */
  static Lockstep start(LockstepConfig config) {
    LockstepNode node = new LockstepNode(config);
    node.start();
    return node;
  }

  /** The configuration this node runs with. */
  LockstepConfig config();

  /** The replicated map. */
  ReplicatedMap map();

  /**
   * The typed map {@code name}: the keys {@code <name>/<key>} of {@link #map()}, their values
   * decoded by {@code codec} once, when each change is applied (see {@link TypedMap}). Every map of
   * a node shares the node's one feed. The first call opens the map (its current entries are
   * decoded then); later calls with the same name return the same object. The map lives as long as
   * the node.
   *
   * <pre>{@code
   * record Quota(int limit) {}
   * TypedMap<Quota> quotas = node.map("quotas", JsonCodec.of(Quota.class));
   * quotas.put("acme", new Quota(10));
   * Quota q = quotas.get("acme"); // from memory: no decode, no allocation
   * }</pre>
   *
   * @throws IllegalArgumentException when the name is not 1 to 128 letters, digits or {@code ._-},
   *     or starts with {@code _} (the backends' own keys, e.g. {@code _members}, start so)
   * @throws IllegalStateException when the map is open with another codec (by {@code equals}), when
   *     the node runs in {@link ReplicaMode#NEAR near mode}, or on the replication thread
   */
  <V> TypedMap<V> map(String name, Codec<V> codec);

  /** The members currently registered, this one included, as the backend reports them. */
  CompletableFuture<List<Member>> members();

  /**
   * Asks every registered member, concurrently, for the revision it has applied: {@code GET
   * /_lockstep/replica} ({@link FleetStatus#REPLICA_PATH}) at its advertised URL ({@link
   * Member#url()}), with the peer credential ({@link LockstepBuilder#peerSecret}) when one is set,
   * each call bounded by the {@link LockstepBuilder#operationTimeout operation timeout}. This
   * instance answers for itself without a call. Members are served by the server, or by a node's
   * own listener ({@link LockstepBuilder#listen}).
   *
   * <p>Never fails for an unreachable member: its entry says so (no advertised URL, refused, timed
   * out, wrong credential, an answer from another instance than the one listed at that URL).
   * Completes on the callback executor.
   *
   * @return the members and their applied revisions, sorted by member id; fails with {@link
   *     BackendUnavailableException} only when the member list cannot be read
   */
  CompletableFuture<FleetStatus> fleet();

  /**
   * Completes with the first {@link FleetStatus} in which every live member (as listed at that
   * moment) answered and has applied at least {@code revision} ({@link
   * FleetStatus#converged(long)}): the answer to "has every instance got my change?" after a write
   * (its {@link WriteResult#revision()}). Polls {@link #fleet()} until then, every 20 ms at first,
   * the pause growing by a quarter each time up to 100 ms. A member that crashed stays listed, and
   * so unreachable, until its membership expires (see {@link #watchMembers}): the wait goes on
   * until then, or until the timeout.
   *
   * <p>After {@code timeout} it completes exceptionally with {@link FleetNotConvergedException}
   * (its cause a {@link java.util.concurrent.TimeoutException}), which carries the last status read
   * and names the members behind or unreachable; with {@link BackendUnavailableException} if the
   * member list could not be read even once; with {@link IllegalStateException} if this node closes
   * meanwhile. Cancelling the result stops the polling. Completes on the callback executor.
   *
   * @throws IllegalArgumentException when {@code timeout} is not positive
   */
  CompletableFuture<FleetStatus> awaitFleet(long revision, java.time.Duration timeout);

  /**
   * Watches the members: {@code listener} gets the full list of members, sorted by id, as soon as
   * it is known and then after every join, leave and expiry, never twice in a row with the same
   * list. Calls come one at a time on a membership thread of their own ({@code
   * lockstep-membership-watch-N}), never on the replication thread or a backend client's thread;
   * changes that arrive during a call are folded into the next one. How soon a change is seen
   * depends on the backend (see {@link io.lockstep.spi.Membership#watch}): a clean leave at once, a
   * crashed instance once its lease, TTL or failure detection runs out. A listener should return
   * quickly; what it throws is logged. Closing the result, or this node, stops the calls.
   *
   * @throws IllegalStateException when this node is closed
   */
  Registration watchMembers(Consumer<List<Member>> listener);

  /**
   * The cluster counter {@code name}, unbatched: each increment is one atomic backend operation.
   * Each call returns a handle of its own over the one counter of that name; closing a handle ends
   * that handle only.
   *
   * @throws IllegalArgumentException when the name is not 1 to 128 letters, digits or {@code ._-}
   * @throws UnsupportedOperationException when the backend keeps no counters
   */
  ClusterCounter counter(String name);

  /**
   * The cluster counter {@code name} with these options (e.g. {@link CounterOptions#batched}): a
   * handle of its own over the one counter of that name and options, whose batch window every
   * handle shares. Counters with different options share the total.
   */
  ClusterCounter counter(String name, CounterOptions options);

  /**
   * This instance's own counter {@code name}: in memory, never sent anywhere, starting at 0 with
   * each process (it does not survive a restart). The same object for the same name.
   */
  AtomicLong localCounter(String name);

  /**
   * Removes this instance from membership now, while the map keeps serving, so that others stop
   * routing to it before it closes (a graceful stop: leave, drain, then {@link #close()}). Waits
   * for the backend to take the record away (bounded by the operation timeout). The instance does
   * not register again; {@link #close()} still closes everything. Idempotent; throws nothing.
   */
  void leaveMembership();

  /** This instance as registered. */
  Member self();

  /**
   * Opens the loading group {@code name} on this node (groupcache semantics: every key has one
   * owner among the live members, which loads it once through {@code loader}; see {@link
   * LoadingGroup}). Ownership follows this node's membership, read every {@link
   * GroupOptions#membershipPollInterval()}, unless {@code options} give a fixed list. Other members
   * reach this one at its {@link LockstepBuilder#advertiseUrl advertised URL}: with a group's own
   * listener ({@link GroupOptions.Builder#listenPort}) that URL must name the listener's port; on a
   * node with a listener of its own ({@link LockstepBuilder#listen}), a group without a listen port
   * and without a fixed list of peers is served on the node's listener (until it closes). Closing
   * the node closes its groups.
   *
   * @throws IllegalStateException when a group of that name is open on this node
   * @throws IllegalArgumentException when the name is not 1 to 128 letters, digits or {@code ._-}
   */
  LoadingGroup group(String name, Loader loader, GroupOptions options);

  /**
   * Checks this instance's replica against the source of truth at one revision and, with {@code
   * repair}, installs the source's entry for every key that differs (see {@link DriftCheck} and
   * {@code docs/drift.md}). Lists the source once; compares by range digests; blocks until done.
   * One check at a time per node.
   *
   * @throws BackendUnavailableException when the source cannot be listed or read in time
   */
  DriftReport reconcile(boolean repair);

  /**
   * This instance's replica as a {@link DriftTarget}: range digests of its memory as of a source
   * revision, and repair of given keys; what the server serves to a remote {@code lockstep check}.
   */
  DriftTarget driftTarget();

  @Override
  void close();
}
