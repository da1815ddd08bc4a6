package io.lockstep.server;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;

/**
 * The bearer-token check. {@link LockstepServer} wraps the handlers that change state or expose the
 * cluster ({@code PUT}, {@code POST}, {@code DELETE} on {@code /config/...}, {@code /admin/...},
 * {@code /cluster}, {@code /stats}, and {@code /api/v1/update}, {@code /api/v1/refresh}, {@code
 * /api/v1/refresh_all} on either method); reads of {@code /config}, {@code /api/v1/current} and
 * {@code /health} stay open. The check is bound to the handler, not to a path pattern, so no
 * spelling of a path reaches a guarded handler without it. The comparison takes the same time
 * whatever token is sent: both sides are hashed, then compared with {@link MessageDigest#isEqual}.
 */
final class BearerAuth {
  private static final String PREFIX = "Bearer ";
  private final byte[] expectedHash;

  BearerAuth(String token) {
    this.expectedHash = sha256(token);
  }

  /** Wraps {@code handler} so that it runs only for requests that carry the token. */
  Handler guard(Handler handler) {
    return ctx -> {
      check(ctx);
      handler.handle(ctx);
    };
  }

  /** Fails with 401 unless the request carries the token. */
  void check(Context ctx) {
    String header = ctx.header(Headers.AUTHORIZATION);
    if (header != null
        && header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())
        && MessageDigest.isEqual(expectedHash, sha256(header.substring(PREFIX.length()).strip()))) {
      return;
    }
    String problem =
        header == null
            ? "this route needs the header 'Authorization: Bearer <token>'"
            : "the bearer token is missing or wrong";
    throw new ApiException(
        401,
        ErrorMapper.UNAUTHORIZED,
        problem,
        Map.of(Headers.WWW_AUTHENTICATE, "Bearer realm=\"lockstep\""));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
