package io.lockstep.spi;

/** What "the next revision" means for a backend's feed. */
public enum RevisionModel {
  /**
   * Revisions are shared with changes outside this namespace (etcd's cluster-wide revision), so a
   * jump between two events is normal. The feed promises every change of the namespace in order.
   */
  SPARSE,
  /**
   * The namespace numbers its own changes 1, 2, 3, ... with no holes (a per-map counter or log
   * index). A jump is a gap: the engine re-lists.
   */
  CONTIGUOUS
}
