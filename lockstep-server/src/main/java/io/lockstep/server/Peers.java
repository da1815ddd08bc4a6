package io.lockstep.server;

import io.lockstep.Member;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * GET requests from this server to other members' HTTP APIs, at the URL each registered, with the
 * cluster secret as the bearer token (members of one cluster share it; it grants the peer scope
 * only). A user's token is never passed on. Every outcome is a {@link Reply}, never an exception,
 * so a fan-out can wait for all of them.
 *
 * <p>An answer counts only when it comes from the member asked: its {@code X-Lockstep-Instance}
 * header must carry the id the member registered. A URL that reaches another instance (a loopback
 * or reused address, a stale record) or something that is no Lockstep server is a failed call whose
 * reason says so, never a confirmation. Thread safe.
 */
final class Peers {
  /** Added to a call's bound for the body: the request timeout covers the headers only. */
  private static final Duration BODY_SLACK = Duration.ofMillis(250);

  private final HttpClient http;
  private final @Nullable String clusterSecret;

  Peers(HttpClient http, @Nullable String clusterSecret) {
    this.http = http;
    this.clusterSecret = clusterSecret;
  }

  /**
   * What a member answered: an HTTP status, headers and body, or, when there was no answer, {@code
   * status} 0, no headers, and the reason in {@code failure}.
   */
  record Reply(int status, HttpHeaders headers, byte[] body, String failure) {
    private static final HttpHeaders NONE = HttpHeaders.of(Map.of(), (name, value) -> true);

    static Reply failed(String why) {
      return new Reply(0, NONE, new byte[0], why);
    }

    boolean answered() {
      return failure == null;
    }
  }

  /** {@code GET <member url><pathAndQuery>}, bounded by {@code timeout}. */
  CompletableFuture<Reply> get(Member m, String pathAndQuery, Duration timeout) {
    if (m.url().isBlank()) {
      return CompletableFuture.completedFuture(Reply.failed("no URL registered"));
    }
    HttpRequest request;
    try {
      String base = m.url().endsWith("/") ? m.url().substring(0, m.url().length() - 1) : m.url();
      HttpRequest.Builder b =
          HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(timeout).GET();
      if (clusterSecret != null) {
        b.header(Headers.AUTHORIZATION, "Bearer " + clusterSecret);
      }
      request = b.build();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(Reply.failed("bad URL: " + e.getMessage()));
    }
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
        .orTimeout(timeout.plus(BODY_SLACK).toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (resp, err) -> {
              if (err == null) {
                String answeredBy = resp.headers().firstValue(Headers.INSTANCE).orElse(null);
                if (answeredBy == null) {
                  return Reply.failed(
                      m.url()
                          + " answered HTTP "
                          + resp.statusCode()
                          + " without "
                          + Headers.INSTANCE
                          + ", so not as member '"
                          + m.id()
                          + "'");
                }
                if (!answeredBy.equals(m.id())) {
                  return Reply.failed(
                      m.url()
                          + " answered as instance '"
                          + answeredBy
                          + "', not as member '"
                          + m.id()
                          + "' that registered it");
                }
                return new Reply(resp.statusCode(), resp.headers(), resp.body(), null);
              }
              Throwable t = ErrorMapper.unwrap(err);
              if (t instanceof TimeoutException || t instanceof HttpTimeoutException) {
                return Reply.failed("no answer within " + timeout.toMillis() + " ms");
              }
              if (t instanceof ConnectException) { // the JDK's client often gives it no message
                return Reply.failed(
                    "cannot connect to "
                        + m.url()
                        + (t.getMessage() == null ? "" : ": " + t.getMessage()));
              }
              return Reply.failed(t.toString());
            });
  }
}
