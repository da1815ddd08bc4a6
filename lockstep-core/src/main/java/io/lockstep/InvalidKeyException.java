package io.lockstep;

/** A key that is empty, too long, or reserved. Nothing was stored. */
public class InvalidKeyException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public InvalidKeyException(String message) {
    super(message);
  }
}
