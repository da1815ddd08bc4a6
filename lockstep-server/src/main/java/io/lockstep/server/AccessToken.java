package io.lockstep.server;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A bearer token and the scope it grants. Tokens are RFC 6750 {@code b64token}s (letters, digits
 * and {@code -._~+/}, then optional {@code =} padding) of at least {@value #MIN_LENGTH} characters.
 * {@link #toString()} never shows the token.
 *
 * @param scope what the token lets its holder do
 * @param token the secret itself
 */
public record AccessToken(Scope scope, String token) {
  /** The shortest token accepted, in characters. */
  public static final int MIN_LENGTH = 16;

  static final Pattern B64TOKEN = Pattern.compile("[A-Za-z0-9\\-._~+/]+=*");

  public AccessToken {
    Objects.requireNonNull(scope, "scope");
    if (scope == Scope.PEER) {
      throw new IllegalArgumentException(
          "token: the peer scope belongs to the cluster secret, not to a user token");
    }
    checkSecret("token", token);
  }

  /** Fails unless {@code secret} is a b64token of at least {@value #MIN_LENGTH} characters. */
  static void checkSecret(String what, String secret) {
    if (secret == null || !B64TOKEN.matcher(secret).matches()) {
      throw new IllegalArgumentException(
          what
              + ": must be letters, digits and -._~+/ (then optional '=' padding), such as the"
              + " output of 'openssl rand -base64 32'");
    }
    if (secret.length() < MIN_LENGTH) {
      throw new IllegalArgumentException(
          what
              + ": "
              + secret.length()
              + " characters, shorter than "
              + MIN_LENGTH
              + "; use a random one, such as the output of 'openssl rand -base64 32'");
    }
  }

  @Override
  public String toString() {
    return "AccessToken[" + scope.label() + " ***]";
  }
}
