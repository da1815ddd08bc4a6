package io.lockstep;

/**
 * The source of truth could not be reached, or did not answer in time. Nothing was changed by this
 * call, unless {@link #mayHaveCommitted()} says it cannot be ruled out (a write whose answer was
 * lost). Local reads keep serving meanwhile.
 */
public class BackendUnavailableException extends LockstepException {
  private static final long serialVersionUID = 1L;
  private final boolean mayHaveCommitted;

  public BackendUnavailableException(String message, Throwable cause, boolean mayHaveCommitted) {
    super(message, cause);
    this.mayHaveCommitted = mayHaveCommitted;
  }

  public BackendUnavailableException(String message, Throwable cause) {
    this(message, cause, false);
  }

  /** True when a write was sent and its answer lost, so it may or may not have been committed. */
  public boolean mayHaveCommitted() {
    return mayHaveCommitted;
  }
}
