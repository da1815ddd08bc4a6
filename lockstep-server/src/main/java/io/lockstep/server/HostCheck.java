package io.lockstep.server;

import io.javalin.http.Context;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The defence against DNS rebinding: a web page whose own name an attacker points at this server's
 * address reaches it from the victim's browser with {@code Host: <the attacker's name>}. A request
 * is answered only when its {@code Host} (without the port) is {@code localhost}, {@code
 * 127.0.0.1}, {@code [::1]}, the bound or advertised host, the address the connection arrived on,
 * or one of the configured names; otherwise 421 {@code misdirected_request}. With no configured
 * names the check holds only on a loopback address, where rebinding is the attack; elsewhere any
 * name is accepted, as a platform router may forward any name it serves.
 */
final class HostCheck {
  private static final Pattern LOOPBACK_V4 = Pattern.compile("127(\\.[0-9]{1,3}){3}");

  /** Hex digits, colons and dots only: parsed as an IPv6 literal, never looked up in DNS. */
  private static final Pattern V6_LITERAL = Pattern.compile("[0-9a-f:.]+");

  private final @Nullable Set<String> allowed; // null: any host

  HostCheck(String bindHost, @Nullable String advertiseUrl, List<String> names) {
    if (names.isEmpty() && !isLoopback(bindHost)) {
      this.allowed = null;
      return;
    }
    Set<String> a = new HashSet<>(names);
    a.add("localhost");
    a.add("127.0.0.1");
    a.add("[::1]");
    if (!isWildcard(bindHost)) {
      a.add(normalize(bindHost));
    }
    if (advertiseUrl != null) {
      try {
        String h = URI.create(advertiseUrl).getHost();
        if (h != null) {
          a.add(normalize(h));
        }
      } catch (IllegalArgumentException ignored) {
        // not a URL: nothing to add
      }
    }
    this.allowed = Set.copyOf(a);
  }

  /** Fails with 421 unless the request's Host is allowed. */
  void check(Context ctx) {
    if (allowed == null) {
      return;
    }
    String header = ctx.header("Host");
    if (header == null) {
      return; // HTTP/1.0 without Host: no browser sends that, and the rebinding needs a browser
    }
    String host = normalize(withoutPort(header.strip()));
    if (allowed.contains(host) || host.equals(normalize(localAddress(ctx)))) {
      return;
    }
    throw new ApiException(
        421,
        ErrorMapper.MISDIRECTED,
        "this server does not answer for the host '"
            + header
            + "'; add the name to --allowed-hosts (LOCKSTEP_ALLOWED_HOSTS) if clients reach it by"
            + " that name");
  }

  private static String localAddress(Context ctx) {
    String a = ctx.req().getLocalAddr();
    return a == null ? "" : a.contains(":") ? "[" + a + "]" : a;
  }

  /** A host as compared: lower case, without a trailing dot, IPv6 literals in brackets. */
  static String normalize(String host) {
    String h = host.strip().toLowerCase(Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    if (h.contains(":") && !h.startsWith("[")) {
      h = "[" + h + "]";
    }
    if (h.startsWith("[")
        && h.endsWith("]")
        && h.contains(":")
        && V6_LITERAL
            .matcher(h.substring(1, h.length() - 1))
            .matches()) { // one spelling per IPv6 address
      try {
        h = "[" + InetAddress.getByName(h.substring(1, h.length() - 1)).getHostAddress() + "]";
        h = h.replace("[0:0:0:0:0:0:0:1]", "[::1]");
      } catch (UnknownHostException | RuntimeException e) {
        // left as written; it matches nothing configured
      }
    }
    return h;
  }

  private static String withoutPort(String hostPort) {
    if (hostPort.startsWith("[")) {
      int end = hostPort.indexOf(']');
      return end < 0 ? hostPort : hostPort.substring(0, end + 1);
    }
    int colon = hostPort.lastIndexOf(':');
    return colon < 0 ? hostPort : hostPort.substring(0, colon);
  }

  /** {@code 0.0.0.0} or {@code ::}: every interface. */
  static boolean isWildcard(String host) {
    String h = host.strip();
    return h.equals("0.0.0.0") || h.equals("::") || h.equals("[::]");
  }

  /**
   * Whether {@code host} is a loopback address: {@code localhost}, or a literal in 127.0.0.0/8 or
   * {@code ::1}. Other names count as not loopback: they are not resolved.
   */
  static boolean isLoopback(String host) {
    String h = host.strip().toLowerCase(Locale.ROOT);
    if (h.equals("localhost")) {
      return true;
    }
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (LOOPBACK_V4.matcher(h).matches()) {
      return true;
    }
    if (!h.contains(":") || !V6_LITERAL.matcher(h).matches()) {
      return false; // a name or another IPv4 address: never looked up here
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress(); // a literal: no lookup
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
