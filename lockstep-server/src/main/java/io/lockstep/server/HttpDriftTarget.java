package io.lockstep.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lockstep.BackendUnavailableException;
import io.lockstep.DriftTarget;
import io.lockstep.KeyRange;
import io.lockstep.LockstepException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A remote instance as a {@link DriftTarget}, over its admin routes {@code POST
 * /admin/drift/ranges} and {@code POST /admin/drift/repair}. Counts as bytes moved the request and
 * response bodies. Thread safe.
 */
public final class HttpDriftTarget implements DriftTarget {
  private final HttpClient client;
  private final String baseUrl;
  private final @Nullable String token;
  private final Duration timeout;

  /**
   * @param baseUrl the instance, e.g. {@code http://10.0.0.5:8080}
   * @param token an admin-scope token, or null when the instance needs none
   * @param timeout the bound of each request
   */
  public HttpDriftTarget(
      HttpClient client, String baseUrl, @Nullable String token, Duration timeout) {
    this.client = client;
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.token = token;
    this.timeout = timeout;
  }

  @Override
  public String name() {
    return baseUrl;
  }

  @Override
  public Ranges ranges(long revision, List<KeyRange> digests, List<KeyRange> entries) {
    byte[] body = Json.bytes(DriftWire.rangesRequest(revision, digests, entries));
    byte[] answer = post("/admin/drift/ranges", body);
    return DriftWire.parseRangesAnswer(read(answer), body.length + answer.length);
  }

  @Override
  public Repaired repair(Collection<String> keys) {
    ObjectNode req = Json.MAPPER.createObjectNode();
    ArrayNode ks = req.putArray("keys");
    keys.forEach(ks::add);
    byte[] body = Json.bytes(req);
    byte[] answer = post("/admin/drift/repair", body);
    JsonNode o = read(answer);
    List<String> repaired = new ArrayList<>();
    o.path("repaired").forEach(k -> repaired.add(k.asText()));
    List<String> skipped = new ArrayList<>();
    o.path("skipped").forEach(k -> skipped.add(k.asText()));
    return new Repaired(repaired, skipped, body.length + answer.length);
  }

  private static JsonNode read(byte[] answer) {
    try {
      return Json.MAPPER.readTree(answer);
    } catch (IOException e) {
      throw new LockstepException("the instance answered something other than JSON: " + e, e);
    }
  }

  private byte[] post(String path, byte[] body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(timeout)
            .header("Content-Type", Json.CONTENT_TYPE)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> r;
    try {
      r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new BackendUnavailableException(baseUrl + path + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LockstepException("interrupted calling " + baseUrl + path, e);
    }
    if (r.statusCode() != 200) {
      throw new LockstepException(
          baseUrl
              + path
              + " answered HTTP "
              + r.statusCode()
              + ": "
              + new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
    }
    return r.body();
  }
}
