package io.lockstep.process;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Predicate;

/**
 * Whether a {@link ManagedProcess} that was started is ready to serve: {@link #check()} returns
 * normally when it is, and throws an {@link IOException} saying what it saw when it is not yet (the
 * last such message goes into the failure when the process never becomes ready).
 */
@FunctionalInterface
public interface ReadinessProbe {

  /**
   * Returns when the process is ready; throws when it is not yet.
   *
   * @throws IOException not ready yet, with what was seen (connection refused, a status, a reply)
   * @throws InterruptedException when the waiting thread is interrupted
   */
  void check() throws IOException, InterruptedException;

  /**
   * Ready once a GET of {@code uri} answers 200 with a body {@code body} accepts (HTTP/1.1; 1 s to
   * connect, 2 s to answer).
   */
  static ReadinessProbe http(URI uri, Predicate<String> body) {
    return http(ManagedProcess.HTTP, uri, body);
  }

  /**
   * As {@link #http(URI, Predicate)}, with {@code client} (e.g. one that trusts a test CA and
   * presents a client certificate, for an {@code https} URI).
   */
  static ReadinessProbe http(HttpClient client, URI uri, Predicate<String> body) {
    HttpRequest get = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).GET().build();
    return () -> {
      HttpResponse<String> r = client.send(get, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200 || !body.test(r.body())) {
        throw new IOException("HTTP " + r.statusCode() + " " + r.body().strip());
      }
    };
  }

  /** The process counts as ready as soon as it was started. */
  static ReadinessProbe started() {
    return () -> {};
  }
}
