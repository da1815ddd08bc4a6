package io.lockstep.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The HTTP calls bench makes, with timing. One shared HTTP/1.1 client, as a pool of connections.
 */
final class HttpCalls {
  /**
   * One answer: status (0 when no answer came), body, Lockstep headers, and when it was sent and
   * answered.
   */
  record Answer(
      int status,
      String body,
      long revision,
      long applied,
      long startNanos,
      long endNanos,
      String error) {
    long micros() {
      return Math.max(1, (endNanos - startNanos) / 1000);
    }
  }

  private final HttpClient client;
  private final String authToken;
  private final Duration timeout;

  HttpCalls(String authToken, Duration timeout) {
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    this.authToken = authToken;
    this.timeout = timeout;
  }

  Answer send(String method, URI uri, String body) {
    long start = System.nanoTime();
    try {
      HttpResponse<String> r =
          client.send(
              request(method, uri, body),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      return answer(r, start);
    } catch (IOException e) {
      return new Answer(0, "", -1, -1, start, System.nanoTime(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Answer(0, "", -1, -1, start, System.nanoTime(), "interrupted");
    }
  }

  CompletableFuture<Answer> sendAsync(String method, URI uri, String body) {
    long start = System.nanoTime();
    return client
        .sendAsync(
            request(method, uri, body), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))
        .handle(
            (r, err) ->
                err == null
                    ? answer(r, start)
                    : new Answer(0, "", -1, -1, start, System.nanoTime(), err.toString()));
  }

  private HttpRequest request(String method, URI uri, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(timeout)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    if (authToken != null) { // reads need a token too once the server has any
      b.header("Authorization", "Bearer " + authToken);
    }
    return b.build();
  }

  private static Answer answer(HttpResponse<String> r, long start) {
    long end = System.nanoTime();
    return new Answer(
        r.statusCode(),
        r.body(),
        r.headers().firstValueAsLong("X-Lockstep-Revision").orElse(-1),
        r.headers().firstValueAsLong("X-Lockstep-Applied").orElse(-1),
        start,
        end,
        null);
  }
}
