package io.lockstep.server;

import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;

/**
 * Bearer-token check for the routes that change state or expose the cluster: {@code PUT}, {@code
 * POST} and {@code DELETE} on {@code /config...}, and everything under {@code /admin}, {@code
 * /cluster} and {@code /stats}. Reads ({@code GET /config...}) and {@code /health} stay open. The
 * comparison takes the same time whatever the token sent: both sides are hashed first, then
 * compared with {@link MessageDigest#isEqual}.
 */
final class BearerAuth {
  private static final String PREFIX = "Bearer ";
  private final byte[] expectedHash;

  BearerAuth(String token) {
    this.expectedHash = sha256(token);
  }

  /** True when {@code ctx} is a request the token guards. */
  static boolean guards(Context ctx) {
    String path = ctx.path();
    String method = ctx.method().name();
    if (path.equals("/config") || path.startsWith("/config/")) {
      return method.equals("PUT") || method.equals("POST") || method.equals("DELETE");
    }
    return path.equals("/admin") || path.startsWith("/admin/")
        || path.equals("/cluster") || path.startsWith("/cluster/")
        || path.equals("/stats") || path.startsWith("/stats/");
  }

  /** A Javalin before-handler: fails with 401 unless a guarded request carries the token. */
  void check(Context ctx) {
    if (!guards(ctx)) {
      return;
    }
    String header = ctx.header(Headers.AUTHORIZATION);
    String problem;
    if (header == null) {
      problem = "this route needs the header 'Authorization: Bearer <token>'";
    } else if (header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())
        && MessageDigest.isEqual(expectedHash, sha256(header.substring(PREFIX.length()).strip()))) {
      return;
    } else {
      problem = "the bearer token is missing or wrong";
    }
    throw new ApiException(401, ErrorMapper.UNAUTHORIZED, problem,
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
