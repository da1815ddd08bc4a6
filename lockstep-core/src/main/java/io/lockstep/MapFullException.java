package io.lockstep;

/**
 * A put refused because the map would hold more keys or more bytes of values than its configured
 * totals ({@link LockstepBuilder#maxTotalKeys(int)}, {@link LockstepBuilder#maxTotalBytes(long)}).
 * Nothing was stored; deleting keys makes room.
 */
public class MapFullException extends LockstepException {
  private static final long serialVersionUID = 1L;

  public MapFullException(String message) {
    super(message);
  }
}
