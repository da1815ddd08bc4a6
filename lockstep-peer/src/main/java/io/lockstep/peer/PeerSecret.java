package io.lockstep.peer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.SecretKey;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The group's shared secret ({@code secret_file=}), as the AES-256 key that encrypts the peer
 * traffic: PBKDF2 with HMAC-SHA256 over the secret, salted with the cluster name, {@value
 * #ITERATIONS} iterations. Every member of one group must hold the same secret; one with another
 * key cannot read the group's messages, and the group cannot read its own, so it never joins. Never
 * printed.
 */
final class PeerSecret {
  /** The shortest secret accepted, in characters. */
  static final int MIN_LENGTH = 16;

  static final int ITERATIONS = 210_000;

  private final byte[] key;

  private PeerSecret(byte[] key) {
    this.key = key;
  }

  /**
   * Reads the first line of {@code file} and derives the key for {@code cluster}; fails (a URI
   * error) when the file cannot be read or the secret is shorter than {@link #MIN_LENGTH}.
   */
  static PeerSecret read(Path file, String cluster) {
    String secret;
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8);
      int eol = s.indexOf('\n');
      secret = (eol < 0 ? s : s.substring(0, eol)).strip();
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "backend URI: secret_file: cannot read '" + file + "': " + e.getMessage(), e);
    }
    if (secret.length() < MIN_LENGTH) {
      throw new IllegalArgumentException(
          "backend URI: secret_file: the secret in '"
              + file
              + "' must be at least "
              + MIN_LENGTH
              + " characters (e.g. openssl rand -base64 32)");
    }
    char[] chars = secret.toCharArray();
    try {
      SecretKeyFactory f = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
      byte[] salt = ("lockstep-peer/" + cluster).getBytes(StandardCharsets.UTF_8);
      PBEKeySpec spec = new PBEKeySpec(chars, salt, ITERATIONS, 256);
      try {
        return new PeerSecret(f.generateSecret(spec).getEncoded());
      } finally {
        spec.clearPassword();
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PBKDF2WithHmacSHA256 is missing from this JDK", e);
    } finally {
      Arrays.fill(chars, '\0');
    }
  }

  /** The AES key. */
  SecretKey aesKey() {
    return new SecretKeySpec(key, "AES");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PeerSecret p && MessageDigest.isEqual(key, p.key);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(key);
  }

  @Override
  public String toString() {
    return "PeerSecret[***]";
  }
}
