package io.lockstep.spi;

import io.lockstep.Member;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Registration of live instances. A registration lives while its owner does (a lease, a TTL, a
 * view) and disappears on its own after the owner dies.
 */
public interface Membership {

  /** Registers {@code self} and keeps it alive until the registration is closed. */
  CompletableFuture<Registration> register(Member self);

  /** The members registered now. */
  CompletableFuture<List<Member>> members();

  /** A live registration. Closing removes it. */
  interface Registration extends AutoCloseable {
    @Override
    void close();
  }
}
