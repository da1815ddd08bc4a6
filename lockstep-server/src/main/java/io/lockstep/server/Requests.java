package io.lockstep.server;

import io.javalin.http.Context;
import io.lockstep.LockstepConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Reading and checking the parts of a request; every bad input becomes a 400 (or 413) that names
 * it.
 */
final class Requests {
  private Requests() {}

  /** Fails naming the first query parameter not in {@code known}, or one given twice. */
  static void onlyParams(Context ctx, Set<String> known) {
    for (Map.Entry<String, List<String>> e : ctx.queryParamMap().entrySet()) {
      if (!known.contains(e.getKey())) {
        throw ApiException.badRequest(
            "unknown query parameter '"
                + e.getKey()
                + "' on "
                + ctx.method()
                + " "
                + ctx.endpointHandlerPath()
                + (known.isEmpty()
                    ? " (it takes none)"
                    : " (known: " + String.join(", ", new TreeSet<>(known)) + ")"));
      }
      if (e.getValue().size() > 1) {
        throw ApiException.badRequest(
            "query parameter '"
                + e.getKey()
                + "' given "
                + e.getValue().size()
                + " times; give it once");
      }
    }
  }

  /** A non-negative whole number parameter, or empty when absent. */
  static OptionalLong nonNegativeLong(Context ctx, String name) {
    String raw = ctx.queryParam(name);
    if (raw == null) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(
        parseRevision(
            raw,
            () ->
                "query parameter '"
                    + name
                    + "': expected a non-negative whole number, was '"
                    + raw
                    + "'"));
  }

  /** An int parameter within {@code [min, max]}, or {@code dflt} when absent. */
  static int intInRange(Context ctx, String name, int dflt, int min, int max) {
    String raw = ctx.queryParam(name);
    if (raw == null) {
      return dflt;
    }
    String problem =
        "query parameter '"
            + name
            + "': expected a whole number from "
            + min
            + " to "
            + max
            + ", was '"
            + raw
            + "'";
    if (!raw.matches("-?[0-9]{1,10}")) {
      throw ApiException.badRequest(problem);
    }
    long v = Long.parseLong(raw);
    if (v < min || v > max) {
      throw ApiException.badRequest(problem);
    }
    return (int) v;
  }

  /**
   * The revision of an {@code If-Match} header: digits, optionally in double quotes as an ETag.
   * Empty when the header is absent.
   */
  static OptionalLong ifMatch(Context ctx) {
    String raw = ctx.header(Headers.IF_MATCH);
    if (raw == null) {
      return OptionalLong.empty();
    }
    String s = raw.strip();
    if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
      s = s.substring(1, s.length() - 1);
    }
    String digits = s;
    return OptionalLong.of(
        parseRevision(
            digits,
            () ->
                "If-Match: expected a revision (digits, optionally"
                    + " in double quotes, 0 for 'must not exist'), was '"
                    + raw
                    + "'"));
  }

  /** The longest {@code Idempotency-Key} taken, in characters. */
  static final int MAX_IDEMPOTENCY_KEY = 255;

  /**
   * The request id of an {@code Idempotency-Key} header (1 to 255 printable ASCII characters, space
   * included, optionally in double quotes as a structured-field string), prefixed {@code http:};
   * null when the header is absent. Anything else is refused with 400 before anything is written.
   */
  static @Nullable String idempotencyKey(Context ctx) {
    List<String> all = Collections.list(ctx.req().getHeaders(Headers.IDEMPOTENCY_KEY));
    if (all.isEmpty()) {
      return null;
    }
    if (all.size() > 1) {
      throw ApiException.badRequest(Headers.IDEMPOTENCY_KEY + ": given " + all.size() + " times");
    }
    String raw = all.get(0);
    String s = raw;
    if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
      s = s.substring(1, s.length() - 1);
    }
    boolean printable = !s.isEmpty() && s.length() <= MAX_IDEMPOTENCY_KEY;
    for (int i = 0; printable && i < s.length(); i++) {
      char c = s.charAt(i);
      printable = c >= 0x20 && c <= 0x7e;
    }
    if (!printable) {
      throw ApiException.badRequest(
          Headers.IDEMPOTENCY_KEY
              + ": expected 1 to "
              + MAX_IDEMPOTENCY_KEY
              + " printable ASCII characters, was "
              + (raw.length() > 300 ? raw.length() + " characters" : "'" + raw + "'"));
    }
    return "http:" + s;
  }

  private static long parseRevision(String s, java.util.function.Supplier<String> problem) {
    if (!s.matches("[0-9]{1,19}")) {
      throw ApiException.badRequest(problem.get());
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(problem.get());
    }
  }

  /**
   * The request body, refused with 413 as soon as it is known to exceed {@code limit}: at once from
   * {@code Content-Length}, or after reading {@code limit + 1} bytes of a body of unknown length.
   * Never buffers more than {@code limit + 1} bytes.
   */
  static byte[] body(Context ctx, int limit) {
    long declared = ctx.req().getContentLengthLong();
    if (declared > limit) {
      throw tooLarge(declared + " bytes", limit);
    }
    try {
      InputStream in = ctx.req().getInputStream();
      byte[] bytes = in.readNBytes(limit + 1);
      if (bytes.length > limit) {
        throw tooLarge("more than " + limit + " bytes", limit);
      }
      return bytes;
    } catch (IOException e) { // the client went away, stalled, or sent a broken chunked body
      throw ApiException.badRequest("reading the request body failed: " + e);
    }
  }

  private static ApiException tooLarge(String size, int limit) {
    return new ApiException(
        413,
        ErrorMapper.PAYLOAD_TOO_LARGE,
        "value: " + size + ", larger than the limit of " + limit + " bytes");
  }

  /** The request's Content-Type as sent, or null when there is none. */
  static String contentType(Context ctx) {
    String ct = ctx.req().getContentType();
    return ct == null || ct.isBlank() ? null : ct;
  }

  /**
   * Checks a key the way the map does (non-empty, at most {@code maxKeyBytes} UTF-8 bytes, not
   * reserved): before a body is read, and for reads from memory, which the map answers without
   * checking. Core keeps its own copy of these rules private, hence this one.
   */
  static String validKey(String key, int maxKeyBytes) {
    if (key == null || key.isEmpty()) {
      throw ApiException.badRequest("key: empty");
    }
    int bytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > maxKeyBytes) {
      throw ApiException.badRequest(
          "key: " + bytes + " bytes, larger than the limit of " + maxKeyBytes + " bytes");
    }
    if (LockstepConfig.isReservedKey(key)) {
      throw ApiException.badRequest(
          "key: no segment may start with '"
              + LockstepConfig.RESERVED_PREFIX
              + "', '"
              + LockstepConfig.COUNTERS_PREFIX
              + "' or '"
              + LockstepConfig.IDEMPOTENCY_PREFIX
              + "' (at the start or after a '/'): they are reserved, was '"
              + key
              + "'");
    }
    return key;
  }
}
