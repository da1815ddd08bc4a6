package io.lockstep;

/**
 * A {@link TypedMap} value whose stored bytes its {@link Codec} could not decode. Made once, on the
 * replication thread, when the change is applied, and thrown by every read of that key until the
 * key is written again with bytes that decode; the feed goes on meanwhile. Counted in {@link
 * TypedMap#decodeFailures()}.
 */
public final class ValueDecodeException extends LockstepException {
  private static final long serialVersionUID = 1L;

  private final String map;
  private final String key;
  private final long modRevision;

  public ValueDecodeException(
      String map, String key, long modRevision, String contentType, Throwable cause) {
    super(
        "map '"
            + map
            + "', key '"
            + key
            + "' at revision "
            + modRevision
            + " ("
            + contentType
            + "): cannot decode: "
            + cause,
        cause);
    this.map = map;
    this.key = key;
    this.modRevision = modRevision;
  }

  /** The typed map's name. */
  public String map() {
    return map;
  }

  /** The key within the typed map. */
  public String key() {
    return key;
  }

  /** The revision of the undecodable value. */
  public long modRevision() {
    return modRevision;
  }
}
