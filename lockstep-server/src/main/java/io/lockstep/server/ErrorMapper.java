package io.lockstep.server;

import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.lockstep.BackendUnavailableException;
import io.lockstep.HistoryResetException;
import io.lockstep.InvalidKeyException;
import io.lockstep.NotAppliedException;
import io.lockstep.RequestIdReusedException;
import io.lockstep.ValueTooLargeException;
import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.eclipse.jetty.http.BadMessageException;

/**
 * The one place that turns a failure into an HTTP answer. Every error the server sends, from a
 * handler, from Javalin (unknown route, wrong method, body too large) or from Jetty itself (see
 * {@link JsonErrorHandler}), has the body {@code {"error": "<code>", "message": "<text>"}}.
 *
 * <table>
 *   <caption>Codes</caption>
 *   <tr><th>status</th><th>code</th><th>raised by</th></tr>
 *   <tr><td>400</td><td>bad_request</td><td>{@link InvalidKeyException}, bad parameters or headers</td></tr>
 *   <tr><td>401</td><td>unauthorized</td><td>missing or unknown bearer token</td></tr>
 *   <tr><td>403</td><td>forbidden</td><td>a token without the route's scope</td></tr>
 *   <tr><td>403</td><td>cross_site</td><td>a browser request for another site on a route that changes state</td></tr>
 *   <tr><td>404</td><td>not_found</td><td>absent key, unknown route</td></tr>
 *   <tr><td>405</td><td>method_not_allowed</td><td>a route that exists, with another method</td></tr>
 *   <tr><td>409</td><td>conflict</td><td>a student route: {@code POST /student/add} of an id that exists, an update that kept losing to others</td></tr>
 *   <tr><td>410</td><td>history_reset</td><td>{@link HistoryResetException}: a wait for a revision of a history the source lost</td></tr>
 *   <tr><td>412</td><td>precondition_failed</td><td>{@code If-Match} revision differs</td></tr>
 *   <tr><td>413</td><td>payload_too_large</td><td>{@link ValueTooLargeException}, body over the limit</td></tr>
 *   <tr><td>415</td><td>unsupported_media_type</td><td>a form or multipart body on a route that takes JSON or nothing</td></tr>
 *   <tr><td>421</td><td>misdirected_request</td><td>a {@code Host} this server does not answer for</td></tr>
 *   <tr><td>500</td><td>outcome_unknown</td><td>a write the backend may have committed ({@link BackendUnavailableException#mayHaveCommitted()}); not 503, which proxies may retry</td></tr>
 *   <tr><td>507</td><td>map_full</td><td>{@link io.lockstep.MapFullException}: the map's key or byte total would be passed</td></tr>
 *   <tr><td>503</td><td>overloaded</td><td>a resource limit of this server (waiting requests, counter names), with {@code Retry-After}</td></tr>
 *   <tr><td>500</td><td>internal</td><td>anything else (logged)</td></tr>
 *   <tr><td>501</td><td>not_implemented</td><td>{@link UnsupportedOperationException} (e.g. a backend without counters)</td></tr>
 *   <tr><td>503</td><td>backend_unavailable</td><td>{@link BackendUnavailableException}</td></tr>
 *   <tr><td>503</td><td>not_ready</td><td>the first listing has not been applied yet</td></tr>
 *   <tr><td>504</td><td>timeout</td><td>{@code min_revision} not reached, {@link NotAppliedException}</td></tr>
 * </table>
 *
 * <p>Every 503 carries {@code Retry-After}; every answer, {@code X-Content-Type-Options: nosniff}.
 */
final class ErrorMapper {
  private static final System.Logger LOG = System.getLogger(ErrorMapper.class.getName());

  static final String BAD_REQUEST = "bad_request";
  static final String UNAUTHORIZED = "unauthorized";
  static final String FORBIDDEN = "forbidden";
  static final String CROSS_SITE = "cross_site";
  static final String UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type";
  static final String MISDIRECTED = "misdirected_request";
  static final String OUTCOME_UNKNOWN = "outcome_unknown";
  static final String NOT_FOUND = "not_found";
  static final String METHOD_NOT_ALLOWED = "method_not_allowed";
  static final String CONFLICT = "conflict";
  static final String PRECONDITION_FAILED = "precondition_failed";
  static final String PAYLOAD_TOO_LARGE = "payload_too_large";
  static final String INTERNAL = "internal";
  static final String BACKEND_UNAVAILABLE = "backend_unavailable";
  static final String NOT_READY = "not_ready";
  static final String TIMEOUT = "timeout";
  static final String HISTORY_RESET = "history_reset";
  static final String NOT_IMPLEMENTED = "not_implemented";
  static final String IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused";
  static final String OVERLOADED = "overloaded";
  static final String MAP_FULL = "map_full";

  static final String RETRY_AFTER = "Retry-After";

  /** What every 503 answers in {@code Retry-After}: a short pause, then the client may retry. */
  static final String RETRY_AFTER_SECONDS = "1";

  /** The body of every error answer. */
  record ErrorBody(String error, String message) {}

  private final int maxValueBytes;

  ErrorMapper(int maxValueBytes) {
    this.maxValueBytes = maxValueBytes;
  }

  /** Renders {@code failure} on {@code ctx}; the exception handler of the whole app. */
  void render(Throwable failure, Context ctx) {
    ApiException e = toApi(failure, ctx);
    ctx.status(e.status());
    e.headers().forEach(ctx::header);
    if (e.status() == 503 && !e.headers().containsKey(RETRY_AFTER)) {
      ctx.header(RETRY_AFTER, RETRY_AFTER_SECONDS);
    }
    Json.send(ctx, e.status(), new ErrorBody(e.code(), e.getMessage()));
  }

  ApiException toApi(Throwable failure, Context ctx) {
    Throwable t = unwrap(failure);
    if (t instanceof ApiException api) {
      return api;
    }
    if (t instanceof HttpResponseException http) {
      return fromJavalin(http, ctx);
    }
    if (t
        instanceof BadMessageException bad) { // Jetty found the request malformed while reading it
      return new ApiException(
          bad.getCode(),
          codeFor(bad.getCode()),
          bad.getReason() == null ? "malformed request" : bad.getReason());
    }
    if (t instanceof ValueTooLargeException tooLarge) {
      return new ApiException(413, PAYLOAD_TOO_LARGE, tooLarge.getMessage());
    }
    if (t instanceof io.lockstep.MapFullException full) {
      return new ApiException(507, MAP_FULL, full.getMessage());
    }
    if (t instanceof RequestIdReusedException reused) {
      return new ApiException(
          422,
          IDEMPOTENCY_KEY_REUSED,
          Headers.IDEMPOTENCY_KEY + " reused with a different request: " + reused.getMessage());
    }
    if (t instanceof InvalidKeyException || t instanceof IllegalArgumentException) {
      return ApiException.badRequest(t.getMessage());
    }
    if (t instanceof UnsupportedOperationException unsupported) {
      return new ApiException(501, NOT_IMPLEMENTED, unsupported.getMessage());
    }
    if (t instanceof HistoryResetException reset) {
      return new ApiException(
          410,
          HISTORY_RESET,
          reset.getMessage(),
          Map.of(Headers.APPLIED, Long.toString(reset.revision())));
    }
    if (t instanceof NotAppliedException na) {
      return new ApiException(
          504,
          TIMEOUT,
          na.getMessage() + "; the write is committed and will reach" + " every instance",
          Map.of(
              Headers.REVISION,
              Long.toString(na.revision()),
              Headers.APPLIED,
              Long.toString(na.appliedRevision())));
    }
    if (t instanceof BackendUnavailableException bu && bu.mayHaveCommitted()) {
      return new ApiException(
          500,
          OUTCOME_UNKNOWN,
          bu.getMessage()
              + "; the write may have been applied. Read it back (a key with use_cache=false)"
              + " to see whether it was, or repeat the request with the same "
              + Headers.IDEMPOTENCY_KEY
              + ", which applies it at most once");
    }
    if (t instanceof BackendUnavailableException bu) {
      return new ApiException(503, BACKEND_UNAVAILABLE, bu.getMessage());
    }
    LOG.log(Level.ERROR, "internal error on " + ctx.method() + " " + ctx.path(), t);
    return new ApiException(
        500, INTERNAL, "unexpected " + t.getClass().getSimpleName() + "; see the server log");
  }

  private ApiException fromJavalin(HttpResponseException e, Context ctx) {
    int status = e.getStatus();
    String what = ctx.method() + " " + ctx.path();
    return switch (status) {
      case 404 -> new ApiException(404, NOT_FOUND, "no route for " + what);
      case 405 -> {
        String allowed = String.join(", ", e.getDetails().values());
        Map<String, String> headers = new LinkedHashMap<>();
        if (!allowed.isEmpty()) {
          headers.put("Allow", allowed);
        }
        yield new ApiException(
            405,
            METHOD_NOT_ALLOWED,
            "method "
                + ctx.method()
                + " is not allowed on "
                + ctx.path()
                + (allowed.isEmpty() ? "" : "; allowed: " + allowed),
            headers);
      }
      case 413 ->
          new ApiException(
              413,
              PAYLOAD_TOO_LARGE,
              "request body larger than the limit of " + maxValueBytes + " bytes");
      default -> new ApiException(status, codeFor(status), e.getMessage() + " (" + what + ")");
    };
  }

  /** The error code for a bare status, as used for errors that carry nothing else. */
  static String codeFor(int status) {
    return switch (status) {
      case 400 -> BAD_REQUEST;
      case 401 -> UNAUTHORIZED;
      case 403 -> FORBIDDEN;
      case 404 -> NOT_FOUND;
      case 405 -> METHOD_NOT_ALLOWED;
      case 409 -> CONFLICT;
      case 412 -> PRECONDITION_FAILED;
      case 413 -> PAYLOAD_TOO_LARGE;
      case 415 -> UNSUPPORTED_MEDIA_TYPE;
      case 421 -> MISDIRECTED;
      case 503 -> BACKEND_UNAVAILABLE;
      case 408, 504 -> TIMEOUT;
      default -> status >= 500 ? INTERNAL : BAD_REQUEST;
    };
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
