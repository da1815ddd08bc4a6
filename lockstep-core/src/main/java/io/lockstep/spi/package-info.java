/**
 * The backend contract. A backend is a thin adapter over one source of truth: it lists a snapshot,
 * streams ordered changes from a revision, performs writes and strong reads, and registers and
 * watches members ({@link io.lockstep.spi.MemberWatchers} holds what every watch does alike).
 * Ordering checks, retries, relists, digests and waiting live once, in core; a backend must not
 * re-implement them. Backends see only this package and the root API types it names; a backend that
 * must retry something of its own (a lease, a compare-and-swap) waits with {@link
 * io.lockstep.spi.Backoff}, as the engine does.
 */
@NullMarked
package io.lockstep.spi;

import org.jspecify.annotations.NullMarked;
