package io.lockstep.testkit;

import io.lockstep.spi.Backend;
import io.lockstep.spi.Change;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ForwardingBackend;
import io.lockstep.spi.RevisionModel;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a backend and corrupts its change feeds on purpose, to prove the engine never ends up
 * different from the source: each delivery may be duplicated, swapped with the next one, dropped
 * (only on {@link RevisionModel#CONTIGUOUS} feeds, where a drop is detectable), or replaced by a
 * connection error. Faults are drawn from a seeded {@link Random}, so a failing run can be
 * replayed. Thread safe to the extent the wrapped feed calls its listener from one thread.
 */
public final class FaultyBackend extends ForwardingBackend {

  /** Probabilities, each in [0, 1], of a fault per delivery. */
  public record Faults(double duplicate, double swap, double drop, double disconnect) {
    public static final Faults NONE = new Faults(0, 0, 0, 0);
  }

  private final Random random;
  private volatile Faults faults;
  private final AtomicLong duplicated = new AtomicLong();
  private final AtomicLong swapped = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong disconnected = new AtomicLong();

  /**
   * How many faults of each kind took effect: deliveries repeated, pairs delivered newer first,
   * deliveries dropped, feeds broken.
   */
  public record Injected(long duplicates, long swaps, long drops, long disconnects) {
    public long total() {
      return duplicates + swaps + drops + disconnects;
    }
  }

  public FaultyBackend(Backend delegate, long seed, Faults faults) {
    super(delegate);
    this.random = new Random(seed);
    this.faults = faults;
  }

  /** Changes the fault rates from now on; {@link Faults#NONE} lets the feed heal. */
  public void setFaults(Faults faults) {
    this.faults = faults;
  }

  /** How many faults were injected so far, of any kind. */
  public long injected() {
    return injectedByKind().total();
  }

  /** How many faults of each kind were injected so far. */
  public Injected injectedByKind() {
    return new Injected(duplicated.get(), swapped.get(), dropped.get(), disconnected.get());
  }

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    return delegate().watch(fromRevision, new Corrupting(listener));
  }

  private double draw() {
    synchronized (random) {
      return random.nextDouble();
    }
  }

  /** Applies the faults to one feed's deliveries. */
  private final class Corrupting implements FeedListener {
    private final FeedListener target;
    private long heldRevision = -1;
    private List<Change> heldChanges;
    private long heldHead;
    private boolean broken;

    Corrupting(FeedListener target) {
      this.target = target;
    }

    @Override
    public void onChanges(long revision, List<Change> changes, long headRevision) {
      if (broken) {
        return;
      }
      Faults f = faults;
      if (heldChanges != null) { // a swap: deliver the newer one first, then the held older one
        swapped.incrementAndGet();
        target.onChanges(revision, changes, headRevision);
        target.onChanges(heldRevision, heldChanges, heldHead);
        heldChanges = null;
        return;
      }
      double p = draw();
      if ((p -= f.disconnect()) < 0) {
        disconnected.incrementAndGet();
        broken = true;
        target.onError(new IllegalStateException("connection lost (injected)"));
        return;
      }
      if ((p -= f.drop()) < 0 && revisionModel() == RevisionModel.CONTIGUOUS) {
        dropped.incrementAndGet();
        return;
      }
      if ((p -= f.swap()) < 0) { // counted once the newer one overtakes it
        heldRevision = revision;
        heldChanges = changes;
        heldHead = headRevision;
        return;
      }
      target.onChanges(revision, changes, headRevision);
      if ((p -= f.duplicate()) < 0) {
        duplicated.incrementAndGet();
        target.onChanges(revision, changes, headRevision);
      }
    }

    @Override
    public void onProgress(long revision) {
      if (broken) {
        return;
      }
      flushHeld(); // never let progress overtake a held change
      target.onProgress(revision);
    }

    private void flushHeld() {
      if (heldChanges != null) {
        target.onChanges(heldRevision, heldChanges, heldHead);
        heldChanges = null;
      }
    }

    @Override
    public void onEpoch(String epoch) {
      if (!broken) {
        flushHeld(); // a held change belongs to the history before
        target.onEpoch(epoch);
      }
    }

    @Override
    public void onCompacted(long compactRevision) {
      if (!broken) {
        flushHeld();
        broken = true;
        target.onCompacted(compactRevision);
      }
    }

    @Override
    public void onError(Throwable error) {
      if (!broken) {
        flushHeld();
        broken = true;
        target.onError(error);
      }
    }
  }
}
