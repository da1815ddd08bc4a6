package io.lockstep.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Who may use the API, and from where; {@code docs/security.md} describes each protection.
 *
 * @param tokens the bearer tokens accepted, each with its scope; several may share a scope (the old
 *     and the new one while they are rotated). When there is at least one, every route but {@code
 *     /health/live} and {@code /health/ready} needs a token with the route's scope. Empty: no token
 *     is needed, which is allowed only on a loopback address or with {@code insecure}
 * @param clusterSecret the secret members of one cluster share: sent as the bearer token of the
 *     calls this server makes to other members ({@code /stats}, {@code /admin/await}), and accepted
 *     on those routes with the peer scope; null: none
 * @param allowedHosts the host names (no port) a request's {@code Host} header may name, besides
 *     the bound and advertised addresses, the address the connection arrived on, {@code localhost},
 *     {@code 127.0.0.1} and {@code [::1]}; empty: on a loopback address, only those, elsewhere any
 *     name
 * @param insecure allows listening on an address other than loopback without tokens; the server
 *     then logs a warning at start and every minute
 */
public record AccessSettings(
    List<AccessToken> tokens,
    @Nullable String clusterSecret,
    List<String> allowedHosts,
    boolean insecure) {

  /** No tokens, no cluster secret, no extra host names, not insecure. */
  public static final AccessSettings NONE = new AccessSettings(List.of(), null, List.of(), false);

  public AccessSettings {
    tokens = List.copyOf(tokens);
    if (clusterSecret != null && clusterSecret.isEmpty()) {
      clusterSecret = null;
    }
    if (clusterSecret != null) {
      AccessToken.checkSecret("clusterSecret", clusterSecret);
    }
    List<String> hosts = new ArrayList<>();
    for (String h : allowedHosts) {
      String name = HostCheck.normalize(h);
      if (name.isEmpty() || name.contains("/") || name.contains(" ")) {
        throw new IllegalArgumentException(
            "allowedHosts: expected host names without port or scheme, was '" + h + "'");
      }
      hosts.add(name);
    }
    allowedHosts = List.copyOf(hosts);
  }

  /** These settings with {@code tokens} instead. */
  public AccessSettings withTokens(List<AccessToken> tokens) {
    return new AccessSettings(tokens, clusterSecret, allowedHosts, insecure);
  }

  /** These settings with {@code secret} as the cluster secret. */
  public AccessSettings withClusterSecret(@Nullable String secret) {
    return new AccessSettings(tokens, secret, allowedHosts, insecure);
  }

  /** These settings with {@code hosts} as the extra allowed host names. */
  public AccessSettings withAllowedHosts(List<String> hosts) {
    return new AccessSettings(tokens, clusterSecret, hosts, insecure);
  }

  /** These settings with {@code insecure} set. */
  public AccessSettings withInsecure(boolean insecure) {
    return new AccessSettings(tokens, clusterSecret, allowedHosts, insecure);
  }

  /**
   * Whether {@code host} is a loopback address ({@code localhost}, 127.0.0.0/8, {@code ::1}), where
   * the server may listen without tokens. Names other than localhost are not looked up.
   */
  public static boolean isLoopback(String host) {
    return HostCheck.isLoopback(host);
  }

  /** Whether requests need a token. */
  public boolean authRequired() {
    return !tokens.isEmpty();
  }

  /**
   * Tokens written as in a token file: one {@code <scope> <token>} (or {@code <scope>:<token>}) per
   * line or between commas; {@code #} starts a comment to the end of the line; blank lines are
   * skipped. Scopes are {@code read}, {@code write}, {@code admin} and {@code metrics}. A mistake
   * fails naming {@code source} and the line, never showing a token.
   */
  public static List<AccessToken> parseTokens(String text, String source) {
    List<AccessToken> out = new ArrayList<>();
    String[] lines = text.split("\\R", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int hash = line.indexOf('#');
      if (hash >= 0) {
        line = line.substring(0, hash);
      }
      for (String entry : line.split(",")) {
        String e = entry.strip();
        if (e.isEmpty()) {
          continue;
        }
        String[] parts = e.split("\\s*:\\s*|\\s+", 2);
        String where = source + " line " + (i + 1);
        if (parts.length != 2 || parts[1].isBlank()) {
          throw new IllegalArgumentException(
              where + ": expected '<scope> <token>', such as 'read <token>'");
        }
        Scope scope;
        try {
          scope = Scope.parseUserScope(parts[0]);
        } catch (IllegalArgumentException bad) {
          throw new IllegalArgumentException(where + ": " + bad.getMessage(), bad);
        }
        try {
          out.add(new AccessToken(scope, parts[1].strip()));
        } catch (IllegalArgumentException bad) {
          throw new IllegalArgumentException(where + ": " + bad.getMessage(), bad);
        }
      }
    }
    return out;
  }

  @Override
  public String toString() { // never the secrets
    StringBuilder scopes = new StringBuilder();
    for (AccessToken t : tokens) {
      scopes.append(scopes.isEmpty() ? "" : ",").append(t.scope().name().toLowerCase(Locale.ROOT));
    }
    return "AccessSettings[tokens="
        + tokens.size()
        + (tokens.isEmpty() ? "" : " (" + scopes + ")")
        + ", clusterSecret="
        + (clusterSecret == null ? "none" : "***")
        + ", allowedHosts="
        + allowedHosts
        + ", insecure="
        + insecure
        + "]";
  }
}
