package io.lockstep.spi;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one string form of backend configuration, parsed in one place: {@code
 * scheme://host:port[,host:port...][/path][?key=value&...]}. Query keys are the backend's settings;
 * each backend documents its own and rejects the ones it does not know.
 *
 * @param raw the URI as given
 * @param scheme the scheme, lower case
 * @param hosts the comma-separated authority entries, in order (may be empty)
 * @param path the path without its leading slash, or empty
 * @param params the query parameters, decoded, in order
 */
public record BackendUri(
    String raw, String scheme, List<String> hosts, String path, Map<String, String> params) {

  public BackendUri {
    hosts = List.copyOf(hosts);
    params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
  }

  /** Parses a backend URI; fails with a message naming what is wrong. */
  public static BackendUri parse(String raw) {
    if (raw == null || raw.isBlank()) {
      throw new IllegalArgumentException("backend URI: empty");
    }
    String s = raw.trim();
    int colon = s.indexOf(':');
    if (colon <= 0 || !s.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*")) {
      throw new IllegalArgumentException(
          "backend URI: no scheme in '" + raw + "' (expected e.g. etcd://127.0.0.1:2379)");
    }
    String scheme = s.substring(0, colon).toLowerCase(java.util.Locale.ROOT);
    String rest = s.substring(colon + 1);
    String query = "";
    int q = rest.indexOf('?');
    if (q >= 0) {
      query = rest.substring(q + 1);
      rest = rest.substring(0, q);
    }
    String authority = rest;
    String path = "";
    if (rest.startsWith("//")) {
      rest = rest.substring(2);
      int slash = rest.indexOf('/');
      authority = slash >= 0 ? rest.substring(0, slash) : rest;
      path = slash >= 0 ? rest.substring(slash + 1) : "";
    }
    List<String> hosts = new ArrayList<>();
    for (String h : authority.split(",")) {
      if (!h.isBlank()) {
        hosts.add(h.trim());
      }
    }
    Map<String, String> params = new LinkedHashMap<>();
    if (!query.isEmpty()) {
      for (String pair : query.split("&")) {
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        String k =
            URLDecoder.decode(eq >= 0 ? pair.substring(0, eq) : pair, StandardCharsets.UTF_8);
        String v = eq >= 0 ? URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8) : "";
        params.put(k, v);
      }
    }
    return new BackendUri(raw, scheme, hosts, path, params);
  }

  /** Fails naming the first query key not in {@code known}. */
  public void requireOnlyParams(Set<String> known) {
    for (String k : params.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException(
            "backend URI: unknown parameter '" + k + "' for " + scheme + " (known: " + known + ")");
      }
    }
  }

  /** A parameter, or {@code dflt} when absent. */
  public String param(String key, String dflt) {
    return params.getOrDefault(key, dflt);
  }

  /** A whole-number parameter in [min, max], or {@code dflt} when absent; fails naming the key. */
  public long longParam(String key, long dflt, long min, long max) {
    String v = params.get(key);
    return v == null ? dflt : parseLong(key, v, min, max);
  }

  /** A positive duration parameter (see {@link #parseDuration}), or {@code dflt} when absent. */
  public java.time.Duration durationParam(String key, java.time.Duration dflt) {
    String v = params.get(key);
    return v == null ? dflt : parseDuration(key, v);
  }

  /**
   * The readable file a parameter names ({@code ca_file=/etc/...}), or null when the parameter is
   * absent; fails naming the parameter when the file cannot be read.
   */
  public java.nio.file.@org.jspecify.annotations.Nullable Path fileParam(String key) {
    String v = params.get(key);
    if (v == null) {
      return null;
    }
    java.nio.file.Path p = java.nio.file.Path.of(v);
    if (!java.nio.file.Files.isReadable(p)) {
      throw new IllegalArgumentException("backend URI: " + key + ": cannot read '" + v + "'");
    }
    return p;
  }

  /**
   * The first line of the file a parameter names (a password file), without its line end; fails
   * naming the parameter when it cannot be read.
   */
  public static String firstLineOf(String key, java.nio.file.Path file) {
    try {
      String s = java.nio.file.Files.readString(file, StandardCharsets.UTF_8);
      int eol = s.indexOf('\n');
      String line = eol < 0 ? s : s.substring(0, eol);
      return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(
          "backend URI: " + key + ": cannot read '" + file + "': " + e.getMessage(),
          new java.io.UncheckedIOException(e));
    }
  }

  /** A whole number in [min, max]; fails naming {@code key}. */
  public static long parseLong(String key, String value, long min, long max) {
    long n;
    try {
      n = Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "backend URI: " + key + " must be a whole number, was '" + value + "'");
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(
          "backend URI: " + key + " must be in [" + min + ", " + max + "], was " + n);
    }
    return n;
  }

  /**
   * A positive duration in the one grammar of {@link io.lockstep.Durations} ({@code 250ms}, {@code
   * 3s}, {@code 1m}, {@code 1h}, {@code PT3S}); fails naming {@code key}. A bare number is refused
   * with a message that shows the same value with a unit.
   */
  public static java.time.Duration parseDuration(String key, String value) {
    String v = value == null ? "" : value.strip();
    if (v.matches("[0-9]+")) {
      throw new IllegalArgumentException(
          "backend URI: "
              + key
              + " needs a unit: write "
              + key
              + "="
              + v
              + "s (or ms, m, h), was '"
              + value
              + "'");
    }
    java.time.Duration d;
    try {
      d = io.lockstep.Durations.parse(v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("backend URI: " + key + ": " + e.getMessage(), e);
    }
    if (d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(
          "backend URI: " + key + " must be positive, was '" + value + "'");
    }
    return d;
  }
}
