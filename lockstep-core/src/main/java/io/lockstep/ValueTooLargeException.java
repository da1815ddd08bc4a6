package io.lockstep;

/** A value larger than the configured limit. Nothing was stored. */
public class ValueTooLargeException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final int size;
  private final int limit;

  public ValueTooLargeException(int size, int limit) {
    super("value: " + size + " bytes, larger than the limit of " + limit + " bytes");
    this.size = size;
    this.limit = limit;
  }

  public int size() {
    return size;
  }

  public int limit() {
    return limit;
  }
}
