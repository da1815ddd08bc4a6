package io.lockstep.internal;

import io.lockstep.FleetStatus;
import io.lockstep.GroupAnswer;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The client side of the peer protocol: {@code GET} and {@code DELETE} of {@code
 * {member}/_lockstep/groups/{group}/{key}}, always marked forwarded, and {@code GET
 * {member}/_lockstep/replica} (a member's applied revision, for {@link
 * io.lockstep.Lockstep#fleet()}); each bounded by the deadline and carrying the peer credential
 * when one is set.
 */
final class PeerClient implements AutoCloseable {
  private final HttpClient http;
  private final Duration deadline;
  private final @Nullable String authorization;

  PeerClient(Duration deadline, @Nullable String secret) {
    this.deadline = deadline;
    this.authorization = secret == null ? null : "Bearer " + secret;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(deadline)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /** Path-segment percent-encoding (a space is {@code %20}, never {@code +}). */
  static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Decodes a path segment; a {@code +} stays a plus. */
  static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private HttpRequest.Builder request(String memberUrl, String group, String key) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(
                URI.create(memberUrl + GroupAnswer.PATH_PREFIX + encode(group) + "/" + encode(key)))
            .timeout(deadline)
            .header(GroupAnswer.FORWARDED_HEADER, "1");
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return b;
  }

  /** The owner's answer; fails when it cannot be reached in time. */
  CompletableFuture<GroupAnswer> get(String memberUrl, String group, String key) {
    CompletableFuture<HttpResponse<byte[]>> f;
    try {
      f =
          http.sendAsync(
              request(memberUrl, group, key).GET().build(),
              HttpResponse.BodyHandlers.ofByteArray());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return f.orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(
            r -> {
              if (r.statusCode() == 200) {
                long expires =
                    r.headers()
                        .firstValue(GroupAnswer.EXPIRES_HEADER)
                        .map(Long::parseLong)
                        .orElse(-1L);
                return GroupAnswer.ok(r.body(), expires);
              }
              String msg =
                  r.headers()
                      .firstValue(GroupAnswer.ERROR_HEADER)
                      .map(PeerClient::decode)
                      .orElse("HTTP " + r.statusCode());
              return GroupAnswer.error(r.statusCode(), msg);
            });
  }

  /** True when the member confirmed the removal in time; false otherwise (never fails). */
  CompletableFuture<Boolean> delete(String memberUrl, String group, String key) {
    try {
      return http.sendAsync(
              request(memberUrl, group, key).DELETE().build(),
              HttpResponse.BodyHandlers.discarding())
          .orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS)
          .handle((r, err) -> err == null && r.statusCode() / 100 == 2);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(false);
    }
  }

  /**
   * The member's answer to {@code GET {memberUrl}/_lockstep/replica}; fails when it cannot be
   * reached in time, answers another status than 200 (the message names it), or a body that is not
   * a {@link ReplicaWire} answer.
   */
  CompletableFuture<ReplicaWire.Answer> replica(String memberUrl) {
    CompletableFuture<HttpResponse<String>> f;
    try {
      String base =
          memberUrl.endsWith("/") ? memberUrl.substring(0, memberUrl.length() - 1) : memberUrl;
      HttpRequest.Builder b =
          HttpRequest.newBuilder(URI.create(base + FleetStatus.REPLICA_PATH)).timeout(deadline);
      if (authorization != null) {
        b.header("Authorization", authorization);
      }
      f = http.sendAsync(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return f.orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(
            r -> {
              if (r.statusCode() != 200) {
                String body = r.body() == null ? "" : r.body().strip();
                throw new IllegalStateException(
                    "HTTP "
                        + r.statusCode()
                        + (body.isEmpty()
                            ? ""
                            : ": "
                                + (body.length() > 200 ? body.substring(0, 200) + "..." : body)));
              }
              return ReplicaWire.parse(r.body());
            });
  }

  @Override
  public void close() {
    http.shutdownNow();
  }
}
