package io.lockstep;

/** The base of Lockstep's unchecked exceptions. */
public class LockstepException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LockstepException(String message) {
    super(message);
  }

  public LockstepException(String message, Throwable cause) {
    super(message, cause);
  }
}
