package io.lockstep.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.TextNode;
import io.javalin.http.Context;
import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The routes of the Cloud Foundry refresh demo, each on {@code GET} and {@code POST}, with its
 * bodies and answers; {@code docs/cloud-foundry.md} describes them for users.
 *
 * <h2>The cache object</h2>
 *
 * What {@code /api/v1/current} shows, built on each read from three layers, later ones winning:
 *
 * <ol>
 *   <li>the demo's initial entries, {@code MY_CACHE1=OBJECT1} and {@code MY_CACHE2=OBJECT2};
 *   <li>the replicated map's keys under {@value #CACHE_PREFIX}, the same on every instance, written
 *       by {@code /api/v1/refresh} (or by anyone through {@code /config});
 *   <li>this instance's own values, written by {@code /api/v1/update} and {@code
 *       /api/v1/refresh_all}, never replicated. Each remembers the revision this instance had
 *       applied when it was written (its <em>basis</em>); it is shown only while the replicated
 *       key's revision is not above that basis. So a refresh supersedes every earlier local update,
 *       on every instance, and a local update made after this instance applied a refresh wins here
 *       until the next refresh.
 * </ol>
 *
 * <p>Thread safe: the local values live in a concurrent map; each is replaced as a whole.
 */
final class CloudFoundryRoutes {
  /** Where refresh writes in the replicated map: {@code cf/cache/<name>}. */
  static final String CACHE_PREFIX = "cf/cache/";

  /** The body field that carries the new value. */
  static final String BODY_FIELD = "MY_CACHE";

  /** The one entry every write of the demo sets. */
  static final String TARGET = "MY_CACHE3";

  /** The demo's initial entries, in order. */
  static final Map<String, String> INITIAL = initial();

  private static final String REPLICATED_TYPE = "application/json";
  private static final ObjectReader BODY_READER =
      Json.MAPPER
          .reader()
          .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final Supplier<Lockstep> node;
  private final ServerSettings settings;
  private final Peers peers;
  private final String instance;
  private final Map<String, Local> local = new ConcurrentHashMap<>();

  /** A value written on this instance only, with the revision this instance had applied then. */
  private record Local(String value, long basis) {}

  CloudFoundryRoutes(
      Supplier<Lockstep> node, ServerSettings settings, Peers peers, String instance) {
    this.node = node;
    this.settings = settings;
    this.peers = peers;
    this.instance = instance;
  }

  private static Map<String, String> initial() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("MY_CACHE1", "OBJECT1");
    m.put("MY_CACHE2", "OBJECT2");
    return java.util.Collections.unmodifiableMap(m);
  }

  // ---------------------------------------------------------------------------------------------
  // Answers
  // ---------------------------------------------------------------------------------------------

  /** The answer of {@code /current} and {@code /update}. */
  record Current(
      @JsonProperty("Instance") String instance,
      @JsonProperty("Cache Object") Map<String, JsonNode> cacheObject) {}

  /** The answer of {@code /refresh_all}. */
  record InstanceRefreshed(@JsonProperty("Refreshing") String refreshing) {}

  /** The answer of {@code /refresh} when every live member confirmed. */
  record Refreshed(
      @JsonProperty("Refreshing") String refreshing,
      @JsonProperty("Instances_Refreshed") int instancesRefreshed,
      @JsonProperty("Revision") long revision) {}

  /**
   * The answer of {@code /refresh} when some member did not confirm in time: the error shape
   * ({@code error}, {@code message}) with the refresh's own fields after it.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record NotAllRefreshed(
      String error,
      String message,
      @JsonProperty("Refreshing") String refreshing,
      @JsonProperty("Instances_Refreshed") int instancesRefreshed,
      @JsonProperty("Not_Refreshed") List<String> notRefreshed,
      @JsonProperty("Revision") long revision) {}

  // ---------------------------------------------------------------------------------------------
  // Routes
  // ---------------------------------------------------------------------------------------------

  /** {@code /api/v1/current}: this instance's cache object. */
  void current(Context ctx) {
    ReplicatedMap map = requireReady();
    Json.send(ctx, 200, new Current(instance, cacheObject(map)));
  }

  /**
   * {@code /api/v1/update}: sets {@value #TARGET} on this instance only; answers as {@code
   * /current}.
   */
  void update(Context ctx) {
    String value = bodyValue(ctx);
    ReplicatedMap map = requireReady();
    local.put(TARGET, new Local(value, map.replica().appliedRevision()));
    Json.send(ctx, 200, new Current(instance, cacheObject(map)));
  }

  /**
   * {@code /api/v1/refresh_all}: as {@code /update}, answering {@code {"Refreshing": "Instance"}}.
   */
  void refreshAll(Context ctx) {
    String value = bodyValue(ctx);
    ReplicatedMap map = requireReady();
    local.put(TARGET, new Local(value, map.replica().appliedRevision()));
    Json.send(ctx, 200, new InstanceRefreshed("Instance"));
  }

  /**
   * {@code /api/v1/refresh}: one write of {@value #CACHE_PREFIX}{@value #TARGET} in the replicated
   * map, then every live member is asked, at once and concurrently, to confirm that it applied the
   * write's revision, within the refresh timeout. No member is asked twice and nothing is written
   * again: the write reaches every instance by itself; the asking only reports which did in time.
   */
  void refresh(Context ctx) {
    String value = bodyValue(ctx);
    Lockstep n = node.get();
    WriteResult w = n.map().put(CACHE_PREFIX + TARGET, Json.bytes(value), REPLICATED_TYPE);
    long revision = w.revision(); // committed, and applied here
    String rev = Long.toString(revision);
    List<Member> members;
    try {
      members = n.members().join();
    } catch (RuntimeException e) {
      throw new ApiException(
          503,
          ErrorMapper.BACKEND_UNAVAILABLE,
          TARGET
              + " was written at revision "
              + revision
              + " and applied here, but the member list could not be read ("
              + ErrorMapper.unwrap(e).getMessage()
              + "); the write reaches every instance by itself",
          Map.of(Headers.REVISION, rev));
    }
    Duration bound = settings.refreshTimeout();
    String selfId = n.self().id();
    Map<String, CompletableFuture<String>> asks =
        new TreeMap<>(); // id -> null when confirmed, else why not
    asks.put(
        selfId,
        CompletableFuture.completedFuture(null)); // the write was applied here before put returned
    for (Member m : members) {
      if (!m.id().equals(selfId)) {
        asks.put(m.id(), confirm(m, revision, bound));
      }
    }
    int confirmed = 0;
    List<String> missing = new ArrayList<>();
    List<String> reasons = new ArrayList<>();
    for (Map.Entry<String, CompletableFuture<String>> e : asks.entrySet()) {
      String why = e.getValue().join(); // never fails, bounded by confirm()
      if (why == null) {
        confirmed++;
      } else {
        missing.add(e.getKey());
        reasons.add(e.getKey() + " (" + why + ")");
      }
    }
    ctx.header(Headers.REVISION, rev);
    if (missing.isEmpty()) {
      Json.send(ctx, 200, new Refreshed("Done", confirmed, revision));
      return;
    }
    String message =
        "revision "
            + revision
            + " ("
            + TARGET
            + ") was confirmed by "
            + confirmed
            + " of "
            + asks.size()
            + " members within "
            + bound.toMillis()
            + " ms; not confirmed: "
            + String.join(", ", reasons)
            + ". The write is committed: every live instance applies it, and"
            + " one that starts later lists it";
    Json.send(
        ctx,
        504,
        new NotAllRefreshed(
            ErrorMapper.TIMEOUT, message, "Incomplete", confirmed, missing, revision));
  }

  /**
   * Asks {@code m} to wait for {@code revision}; completes with null once it confirmed, else the
   * reason.
   */
  private CompletableFuture<String> confirm(Member m, long revision, Duration bound) {
    String path =
        "/admin/await?"
            + NodeRoutes.REVISION
            + "="
            + revision
            + "&"
            + NodeRoutes.TIMEOUT
            + "="
            + bound.toMillis()
            + "ms";
    // The member waits at most `bound`; the call allows a peer timeout more for the answer to
    // arrive.
    return peers
        .get(m, path, bound.plus(settings.peerTimeout()))
        .thenApply(
            reply -> {
              if (!reply.answered()) {
                return reply.failure();
              }
              if (reply.status() == 200) {
                return null;
              }
              java.util.Optional<String> applied = reply.headers().firstValue(Headers.APPLIED);
              return reply.status() == 504 && applied.isPresent()
                  ? "applied only up to revision " + applied.get()
                  : "GET /admin/await answered HTTP " + reply.status();
            });
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private ReplicatedMap requireReady() {
    ReplicatedMap map = node.get().map();
    if (!map.replica().isReady()) {
      throw new ApiException(
          503,
          ErrorMapper.NOT_READY,
          "this instance has not applied its first listing"
              + " yet, so it does not know the replicated cache entries; retry shortly");
    }
    return map;
  }

  /** The three layers, as described in the class comment. */
  private Map<String, JsonNode> cacheObject(ReplicatedMap map) {
    Map<String, JsonNode> object = new LinkedHashMap<>();
    INITIAL.forEach((k, v) -> object.put(k, TextNode.valueOf(v)));
    Map<String, Long> replicatedAt = new LinkedHashMap<>();
    for (Versioned v : map.list(CACHE_PREFIX, 0)) {
      String name = v.key().substring(CACHE_PREFIX.length());
      if (!name.isEmpty()) {
        object.put(name, render(v));
        replicatedAt.put(name, v.modRevision());
      }
    }
    local.forEach(
        (name, l) -> {
          Long at = replicatedAt.get(name);
          if (at == null || at <= l.basis()) {
            object.put(name, TextNode.valueOf(l.value()));
          }
        });
    return object;
  }

  /**
   * A replicated value: JSON when it was written as JSON and parses, else its bytes as UTF-8 text.
   */
  private static JsonNode render(Versioned v) {
    String type = v.contentType().toLowerCase(Locale.ROOT).split(";", 2)[0].strip();
    if (type.equals("application/json") || type.endsWith("+json")) {
      try {
        JsonNode n = Json.MAPPER.readTree(v.value());
        if (n != null && !n.isMissingNode()) {
          return n;
        }
      } catch (IOException e) {
        // shown as text
      }
    }
    return TextNode.valueOf(v.valueAsString());
  }

  /**
   * The string under {@value #BODY_FIELD} in the request's JSON object body; anything else is a 400
   * that says what was expected. The Content-Type is not checked: clients of the demo send JSON
   * with whatever type their tool picks.
   */
  private String bodyValue(Context ctx) {
    byte[] body = Requests.body(ctx, settings.maxValueBytes());
    String expected = "; send a JSON object such as {\"" + BODY_FIELD + "\": \"NEW_OBJECT\"}";
    if (body.length == 0) {
      throw ApiException.badRequest("body: missing" + expected);
    }
    JsonNode root;
    try {
      root = BODY_READER.readTree(body);
    } catch (IOException e) {
      String why =
          e instanceof com.fasterxml.jackson.core.JsonProcessingException j
              ? j.getOriginalMessage()
              : e.toString();
      throw ApiException.badRequest("body: not valid JSON (" + firstLine(why) + ")" + expected);
    }
    if (root == null || root.isMissingNode()) {
      throw ApiException.badRequest("body: missing" + expected);
    }
    if (!root.isObject()) {
      throw ApiException.badRequest(
          "body: expected a JSON object, was " + CloudFoundry.kind(root) + expected);
    }
    JsonNode v = root.get(BODY_FIELD);
    if (v == null) {
      throw ApiException.badRequest("body: no field '" + BODY_FIELD + "'" + expected);
    }
    if (!v.isTextual()) {
      throw ApiException.badRequest(
          "body: '" + BODY_FIELD + "' must be a string, was " + CloudFoundry.kind(v) + expected);
    }
    return v.textValue();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unreadable";
    }
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    return line.length() > 200 ? line.substring(0, 200) + "..." : line;
  }
}
