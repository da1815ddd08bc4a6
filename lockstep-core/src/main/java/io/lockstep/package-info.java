/**
 * The Lockstep user API: {@link io.lockstep.Lockstep} (one node), {@link io.lockstep.ReplicatedMap}
 * and its {@link io.lockstep.Replica} (applied revision, stats, {@link io.lockstep.ReplicaState
 * state}), entries ({@link io.lockstep.Versioned}), write outcomes ({@link
 * io.lockstep.WriteResult}) and the exceptions that report failures.
 */
@NullMarked
package io.lockstep;

import org.jspecify.annotations.NullMarked;
