/**
 * The Lockstep user API: {@link io.lockstep.Lockstep} (one node), {@link
 * io.lockstep.ReplicatedMap}, entries ({@link io.lockstep.Versioned}), write outcomes ({@link
 * io.lockstep.WriteResult}) and the exceptions that report failures.
 */
package io.lockstep;
