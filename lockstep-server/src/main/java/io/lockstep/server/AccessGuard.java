package io.lockstep.server;

import io.javalin.http.Context;
import io.javalin.security.RouteRole;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Runs before every routed request (a Javalin {@code beforeMatched} handler), in this order: the
 * {@code Host} check ({@link HostCheck}, 421), the bearer token against the route's {@link Rule}
 * (401 without a known token, 403 with one lacking the scope), the cross-site guard on routes that
 * change state (403), the path (400 for control characters or invalid UTF-8 once percent-decoded),
 * and the Content-Type (415 for form and multipart bodies on routes that take JSON or nothing).
 *
 * <p>The rule comes from the route that matched, not from the path as written, so no spelling of a
 * path reaches a handler without its check. Tokens are compared in constant time: the token sent
 * and every known token are hashed, then each pair compared with {@link MessageDigest#isEqual}, all
 * of them whatever matched.
 */
final class AccessGuard {
  static final String REALM = "Bearer realm=\"lockstep\"";
  private static final String PREFIX = "Bearer ";

  /** A known credential: the hash of its secret and the scopes it holds. */
  private record Credential(byte[] hash, Set<Scope> granted) {}

  private final List<Credential> credentials;
  private final boolean authRequired;
  private final HostCheck hosts;

  AccessGuard(AccessSettings access, HostCheck hosts) {
    List<Credential> c = new ArrayList<>();
    for (AccessToken t : access.tokens()) {
      c.add(new Credential(sha256(t.token()), t.scope().granted()));
    }
    if (access.clusterSecret() != null) {
      c.add(new Credential(sha256(access.clusterSecret()), Scope.PEER.granted()));
    }
    this.credentials = List.copyOf(c);
    this.authRequired = access.authRequired();
    this.hosts = hosts;
  }

  /** The {@code beforeMatched} handler. */
  void handle(Context ctx) {
    Rule rule = ruleOf(ctx.routeRoles());
    hosts.check(ctx);
    if (authRequired && !rule.anyOf().isEmpty()) {
      authorize(ctx, rule);
    }
    if (rule.changesState()) {
      refuseCrossSite(ctx);
    }
    checkPath(ctx.req().getRequestURI());
    if (!rule.anyContentType()) {
      refuseForms(ctx);
    }
  }

  /** The route's rule; a route without one is treated as admin-only (never open by mistake). */
  static Rule ruleOf(Set<RouteRole> roles) {
    for (RouteRole r : roles) {
      if (r instanceof Rule rule) {
        return rule;
      }
    }
    return Rule.needs(Scope.ADMIN);
  }

  private void authorize(Context ctx, Rule rule) {
    List<String> headers =
        ctx.req().getHeaders(Headers.AUTHORIZATION) == null
            ? List.of()
            : java.util.Collections.list(ctx.req().getHeaders(Headers.AUTHORIZATION));
    Set<Scope> granted = EnumSet.noneOf(Scope.class);
    boolean sent = !headers.isEmpty();
    if (headers.size() == 1) {
      String h = headers.get(0);
      if (h.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
        byte[] hash = sha256(h.substring(PREFIX.length()).strip());
        for (Credential c : credentials) { // every one, whatever matched: constant time
          if (MessageDigest.isEqual(c.hash(), hash)) {
            granted.addAll(c.granted());
          }
        }
      }
    }
    if (granted.isEmpty()) {
      throw new ApiException(
          401,
          ErrorMapper.UNAUTHORIZED,
          sent
              ? "the bearer token is missing, malformed or not known to this server"
              : "this route needs the header 'Authorization: Bearer <token>'",
          Map.of(Headers.WWW_AUTHENTICATE, sent ? REALM + ", error=\"invalid_token\"" : REALM));
    }
    for (Scope s : rule.anyOf()) {
      if (granted.contains(s)) {
        return;
      }
    }
    Scope needed = rule.userScope();
    String label = needed == null ? "peer" : needed.label();
    throw new ApiException(
        403,
        ErrorMapper.FORBIDDEN,
        ctx.method()
            + " "
            + ctx.endpointHandlerPath()
            + " needs a token with the scope '"
            + label
            + "'"
            + (needed == Scope.READ || needed == Scope.WRITE ? " (or one that implies it)" : "")
            + "; the token given has "
            + granted.stream().map(Scope::label).sorted().collect(Collectors.joining(", ")),
        Map.of(
            Headers.WWW_AUTHENTICATE,
            REALM + ", error=\"insufficient_scope\", scope=\"" + label + "\""));
  }

  /**
   * Refuses a request a browser sent on behalf of another site: {@code Sec-Fetch-Site} {@code
   * cross-site} or {@code same-site}, or an {@code Origin} that is not this server as the request
   * named it in {@code Host}. Clients that are not browsers send neither header.
   */
  static void refuseCrossSite(Context ctx) {
    String site = ctx.header("Sec-Fetch-Site");
    if (site != null) {
      String s = site.strip().toLowerCase(Locale.ROOT);
      if (s.equals("cross-site") || s.equals("same-site")) {
        throw crossSite("Sec-Fetch-Site: " + site);
      }
    }
    String origin = ctx.header("Origin");
    if (origin != null && !sameOrigin(origin.strip(), ctx.header("Host"))) {
      throw crossSite("Origin: " + origin);
    }
  }

  private static boolean sameOrigin(String origin, @Nullable String host) {
    if (host == null) {
      return false;
    }
    URI u;
    try {
      u = URI.create(origin);
    } catch (IllegalArgumentException e) {
      return false; // "null", or not a URL
    }
    if (u.getScheme() == null || u.getHost() == null) {
      return false;
    }
    String scheme = u.getScheme().toLowerCase(Locale.ROOT);
    int defaultPort = scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
    if (defaultPort < 0) {
      return false;
    }
    String originAuthority =
        HostCheck.normalize(u.getHost()) + ":" + (u.getPort() < 0 ? defaultPort : u.getPort());
    String h = host.strip();
    String hostPart;
    int port;
    int close = h.lastIndexOf(']');
    int colon = h.lastIndexOf(':');
    if (colon > close) {
      hostPart = h.substring(0, colon);
      try {
        port = Integer.parseInt(h.substring(colon + 1));
      } catch (NumberFormatException e) {
        return false;
      }
    } else {
      hostPart = h;
      port = defaultPort;
    }
    return originAuthority.equals(HostCheck.normalize(hostPart) + ":" + port);
  }

  private static ApiException crossSite(String why) {
    return new ApiException(
        403,
        ErrorMapper.CROSS_SITE,
        "refused: a browser sent this request for another site ("
            + why
            + "); this route changes state, so only same-origin pages and clients that are not"
            + " browsers may call it");
  }

  /**
   * Fails with 400 when the path, percent-decoded, is not UTF-8 or holds a control character (so no
   * key or counter name has one).
   */
  static void checkPath(String rawPath) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(rawPath.length());
    for (int i = 0; i < rawPath.length(); ) {
      int cp = rawPath.codePointAt(i);
      if (cp == '%') {
        int hi = i + 2 < rawPath.length() ? hex(rawPath.charAt(i + 1)) : -1;
        int lo = i + 2 < rawPath.length() ? hex(rawPath.charAt(i + 2)) : -1;
        if (hi < 0 || lo < 0) {
          throw ApiException.badRequest("path: '%' must be followed by two hex digits");
        }
        out.write(hi * 16 + lo);
        i += 3;
      } else {
        byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        i += Character.charCount(cp);
      }
    }
    ByteBuffer bytes = ByteBuffer.wrap(out.toByteArray());
    CharBuffer text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(bytes);
    } catch (CharacterCodingException e) {
      throw ApiException.badRequest("path: not valid UTF-8 once percent-decoded");
    }
    text.codePoints()
        .filter(AccessGuard::isControl)
        .findFirst()
        .ifPresent(
            cp -> {
              throw ApiException.badRequest(
                  String.format(
                      "path: control character U+%04X; keys and names must not hold one", cp));
            });
  }

  private static int hex(char c) {
    return c >= '0' && c <= '9'
        ? c - '0'
        : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  }

  private static boolean isControl(int cp) {
    return Character.getType(cp) == Character.CONTROL
        || cp == 0x2028
        || cp == 0x2029; // line and paragraph separators
  }

  /** Form and multipart bodies are what a cross-site HTML form sends; no JSON route takes them. */
  static void refuseForms(Context ctx) {
    String ct = ctx.req().getContentType();
    if (ct == null) {
      return;
    }
    String base = ct.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    if (base.equals("application/x-www-form-urlencoded") || base.startsWith("multipart/")) {
      throw new ApiException(
          415,
          ErrorMapper.UNSUPPORTED_MEDIA_TYPE,
          "Content-Type '"
              + ct
              + "' is not accepted on "
              + ctx.method()
              + " "
              + ctx.endpointHandlerPath()
              + "; send JSON (Content-Type: application/json), or no body where the route takes"
              + " none");
    }
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
