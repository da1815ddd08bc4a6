package io.lockstep;

/**
 * A {@link LoadingGroup} get failed: the loader threw (its message is carried here, also when the
 * load ran on another instance), or the load passed its deadline.
 */
public class GroupLoadException extends LockstepException {
  private static final long serialVersionUID = 1L;

  public GroupLoadException(String message) {
    super(message);
  }

  public GroupLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
