package io.lockstep.server;

import io.javalin.http.Context;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request ids, the access log and the request timers, for every request Jetty answers (a route's,
 * an error's, one refused before any route ran):
 *
 * <ul>
 *   <li>as Jetty's {@link HttpConfiguration.Customizer}, before any handler: takes the request id
 *       from {@code X-Request-Id} when it is 1 to 128 printable ASCII characters (no space), else
 *       generates one (16 hex digits), and sets it as the {@code X-Request-Id} response header;
 *   <li>as a Javalin after-handler: notes the matched route template (and sets the header again,
 *       should an error path have reset the headers);
 *   <li>as Jetty's {@link RequestLog}, once the answer is sent: records the request timer and
 *       writes one line to the slf4j logger {@code io.lockstep.access} at INFO, in the Combined Log
 *       Format plus the duration and the request id:
 *       <pre>{@code
 * 127.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET /config/a?min_revision=7 HTTP/1.1" 200 11 "-" "curl/8.5.0" 1.234ms 5f0c9a1b2c3d4e5f
 * }</pre>
 *       The user field is always {@code -}; no header other than Referer and User-Agent is logged
 *       (never Authorization), and the values of query parameters whose name contains token,
 *       password or secret are masked.
 * </ul>
 */
final class AccessLog implements HttpConfiguration.Customizer, RequestLog {
  static final String HEADER = "X-Request-Id";
  static final String LOGGER = "io.lockstep.access";
  static final int MAX_ID_LENGTH = 128;
  private static final String ID = AccessLog.class.getName() + ".id";
  private static final String START = AccessLog.class.getName() + ".start";
  private static final String ROUTE = AccessLog.class.getName() + ".route";
  private static final String UNMATCHED = "unmatched";
  private static final Pattern SECRET_PARAM =
      Pattern.compile("(?i)((?:^|&)[^=&]*(?:password|secret|token)[^=&]*=)[^&]*");
  private static final DateTimeFormatter CLF_TIME =
      DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT);

  private final Logger log = LoggerFactory.getLogger(LOGGER);
  private final ServerMetrics metrics;

  AccessLog(ServerMetrics metrics) {
    this.metrics = metrics;
  }

  /** True for an id taken as given: 1 to 128 characters, each printable ASCII other than space. */
  static boolean validId(@Nullable String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_ID_LENGTH) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  static String newId() {
    return String.format("%016x", ThreadLocalRandom.current().nextLong());
  }

  @Override
  public void customize(Connector connector, HttpConfiguration config, Request request) {
    request.setAttribute(START, System.nanoTime());
    String given = request.getHeader(HEADER);
    String id = validId(given) ? given : newId();
    request.setAttribute(ID, id);
    request.getResponse().setHeader(HEADER, id);
  }

  /** A Javalin after-handler: the route template, for the timer's tag. */
  void after(Context ctx) {
    String route = ctx.endpointHandlerPath();
    if (route != null && !route.isEmpty() && !route.equals("*")) {
      ctx.req().setAttribute(ROUTE, route);
    }
    Object id = ctx.req().getAttribute(ID);
    if (id != null && !ctx.res().isCommitted() && ctx.res().getHeader(HEADER) == null) {
      ctx.header(HEADER, id.toString());
    }
  }

  @Override
  public void log(Request request, Response response) {
    long nanos =
        request.getAttribute(START) instanceof Long start
            ? System.nanoTime() - start
            : Math.max(0, System.currentTimeMillis() - request.getTimeStamp()) * 1_000_000L;
    int status = response.getCommittedMetaData().getStatus();
    String method = request.getMethod();
    Object route = request.getAttribute(ROUTE);
    metrics.request(method, route == null ? UNMATCHED : route.toString(), status, nanos);
    if (!log.isInfoEnabled()) {
      return;
    }
    Object id = request.getAttribute(ID);
    String query = request.getQueryString();
    StringBuilder line = new StringBuilder(160);
    line.append(request.getRemoteAddr())
        .append(" - - [")
        .append(CLF_TIME.format(ZonedDateTime.now()))
        .append("] \"");
    quoted(line, method);
    line.append(' ');
    quoted(line, request.getRequestURI());
    if (query != null) {
      line.append('?');
      quoted(line, SECRET_PARAM.matcher(query).replaceAll("$1***"));
    }
    line.append(' ');
    quoted(line, request.getProtocol());
    line.append("\" ").append(status).append(' ');
    long bytes = response.getHttpChannel().getBytesWritten();
    line.append(bytes > 0 ? Long.toString(bytes) : "-").append(" \"");
    quoted(line, header(request, "Referer"));
    line.append("\" \"");
    quoted(line, header(request, "User-Agent"));
    line.append("\" ")
        .append(String.format(Locale.ROOT, "%.3fms", nanos / 1e6))
        .append(' ')
        .append(id == null ? "-" : id.toString());
    log.info(line.toString());
  }

  private static String header(Request request, String name) {
    String v = request.getHeader(name);
    return v == null ? "-" : v;
  }

  /** Appends {@code s} with quotes, backslashes and control characters escaped. */
  private static void quoted(StringBuilder out, @Nullable String s) {
    if (s == null) {
      out.append('-');
      return;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20 || c == 0x7f) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
  }
}
