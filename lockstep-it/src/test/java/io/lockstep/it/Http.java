package io.lockstep.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A small blocking HTTP client for the cluster tests. */
final class Http {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(2))
          .version(HttpClient.Version.HTTP_1_1)
          .build();

  private Http() {}

  /** A response: status, body as text, and the Lockstep headers. */
  record Resp(int status, String body, java.net.http.HttpHeaders headers) {
    long revision() {
      return headers.firstValueAsLong("X-Lockstep-Revision").orElse(-1);
    }

    long applied() {
      return headers.firstValueAsLong("X-Lockstep-Applied").orElse(-1);
    }

    String contentType() {
      return headers.firstValue("Content-Type").orElse("");
    }
  }

  static String path(String key) {
    StringBuilder sb = new StringBuilder();
    for (String seg : key.split("/", -1)) {
      if (!sb.isEmpty()) {
        sb.append('/');
      }
      sb.append(URLEncoder.encode(seg, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    return sb.toString();
  }

  static Resp put(String base, String key, String body, String... headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + "/config/" + path(key)))
            .PUT(HttpRequest.BodyPublishers.ofString(body))
            .header("Content-Type", "application/json");
    return send(b, headers);
  }

  static Resp get(String base, String key, String query, String... headers) {
    return send(
        HttpRequest.newBuilder(
                URI.create(base + "/config/" + path(key) + (query.isEmpty() ? "" : "?" + query)))
            .GET(),
        headers);
  }

  static Resp delete(String base, String key, String... headers) {
    return send(
        HttpRequest.newBuilder(URI.create(base + "/config/" + path(key))).DELETE(), headers);
  }

  static Resp raw(String base, String method, String pathAndQuery, String body, String... headers) {
    HttpRequest.BodyPublisher p =
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body);
    return send(HttpRequest.newBuilder(URI.create(base + pathAndQuery)).method(method, p), headers);
  }

  private static Resp send(HttpRequest.Builder b, String... headers) {
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    try {
      HttpResponse<String> r =
          CLIENT.send(
              b.timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
      return new Resp(r.statusCode(), r.body(), r.headers());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
