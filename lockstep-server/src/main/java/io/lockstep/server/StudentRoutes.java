package io.lockstep.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.lockstep.LocalSnapshot;
import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The student service of db-cache-sync's {@code sb}, over the node's map: {@code GET /students},
 * {@code GET /student/id?id=N}, {@code POST /student/add}, {@code PUT /student/update} and {@code
 * DELETE /student/delete?id=N}. A student is the entry whose key is its id in decimal ({@code
 * "42"}) and whose value is the JSON object {@code {"id":42,"name":"Ann","age":20}} ({@code
 * application/json}): the shape the PostgreSQL backend gives a row of a mirrored {@code student}
 * table, so the same routes serve a mirror ({@code --mirror student}) and any other backend's map
 * ({@code --students}).
 *
 * <p>Reads answer from memory (503 before the first listing; {@code min_revision} waits as on
 * {@code /config}). Writes go to the source and return once this instance applied them. An add is a
 * create-if-absent (compare-and-set on revision 0); an update is a compare-and-set on the revision
 * the student is at, so a concurrent delete is never undone by it. Every check that can refuse a
 * request runs before anything is written.
 */
final class StudentRoutes {
  static final String ID = "id";
  static final String NAME = "name";
  static final String AGE = "age";

  /** How many times an update retries when the student changed between its read and its write. */
  static final int UPDATE_ATTEMPTS = 5;

  private static final Set<String> FIELDS = Set.of(ID, NAME, AGE);
  private static final Set<String> ONE_PARAMS = Set.of(ID, ConfigRoutes.MIN_REVISION);
  private static final Set<String> LIST_PARAMS = Set.of(ConfigRoutes.MIN_REVISION);

  /** Strict JSON: a repeated field or anything after the object is a bad request. */
  private static final ObjectReader READER =
      Json.MAPPER
          .reader()
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  /** A student as stored and answered; the field order is the JSON order. */
  record Student(long id, String name, int age) {
    String key() {
      return Long.toString(id);
    }
  }

  private final Supplier<Lockstep> node;
  private final ServerSettings settings;
  private final Drain drain;
  private final LongPolls polls;

  StudentRoutes(Supplier<Lockstep> node, ServerSettings settings, Drain drain, LongPolls polls) {
    this.node = node;
    this.settings = settings;
    this.drain = drain;
    this.polls = polls;
  }

  // -----------------------------------------------------------------------------------------------
  // Reads, from memory
  // -----------------------------------------------------------------------------------------------

  /** {@code GET /students?min_revision=R}: every student held in memory, sorted by id. */
  void list(Context ctx) {
    Requests.onlyParams(ctx, LIST_PARAMS);
    ReplicatedMap map = readyMap(ctx);
    // One moment: the students and the revision they stood at.
    LocalSnapshot snapshot = map.replica().snapshot("", 0);
    List<Map.Entry<Long, JsonNode>> students = new ArrayList<>();
    for (Versioned v : snapshot.entries()) {
      Long id = canonicalId(v.key());
      JsonNode row = id == null ? null : storedStudent(v);
      if (row != null) {
        students.add(Map.entry(id, row));
      }
    }
    students.sort(Comparator.comparing(Map.Entry::getKey));
    ArrayNode body = Json.MAPPER.createArrayNode();
    students.forEach(e -> body.add(e.getValue()));
    ctx.header(Headers.APPLIED, Long.toString(snapshot.revision()));
    Json.send(ctx, 200, body);
  }

  /** {@code GET /student/id?id=N&min_revision=R}: one student from memory; 404 when absent. */
  void get(Context ctx) {
    Requests.onlyParams(ctx, ONE_PARAMS);
    long id = idParam(ctx);
    ReplicatedMap map = readyMap(ctx);
    long applied = map.replica().appliedRevision();
    Versioned v = map.get(Long.toString(id));
    JsonNode row = v == null ? null : storedStudent(v);
    if (row == null) {
      throw ApiException.notFound(
          "no student with id "
              + id
              + " on this instance at applied revision "
              + applied
              + (v == null ? "" : " (key '" + id + "' holds a value that is not a student object)"),
          Map.of(Headers.APPLIED, Long.toString(applied)));
    }
    ctx.header(Headers.REVISION, Long.toString(v.modRevision()))
        .header(Headers.APPLIED, Long.toString(applied))
        .header(Headers.ETAG, Headers.etag(v.modRevision()));
    Json.send(ctx, 200, row);
  }

  /** The node's map, once any {@code min_revision} is reached and the first listing applied. */
  private ReplicatedMap readyMap(Context ctx) {
    OptionalLong minRevision = Requests.nonNegativeLong(ctx, ConfigRoutes.MIN_REVISION);
    ReplicatedMap map = node.get().map();
    if (minRevision.isPresent()) {
      ConfigRoutes.awaitApplied(
          map,
          minRevision.getAsLong(),
          settings.maxWait(),
          ConfigRoutes.MIN_REVISION,
          drain,
          polls);
    }
    ConfigRoutes.requireReady(map);
    return map;
  }

  // -----------------------------------------------------------------------------------------------
  // Writes, through the source
  // -----------------------------------------------------------------------------------------------

  /** {@code POST /student/add}: stores a new student; 409 when the id exists. */
  void add(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    Student s = body(ctx);
    byte[] value = Json.bytes(s);
    WriteResult r = node.get().map().compareAndSet(s.key(), 0, value, Json.CONTENT_TYPE);
    if (r.status() == WriteResult.Status.CONFLICT) {
      throw new ApiException(
          409,
          ErrorMapper.CONFLICT,
          "a student with id "
              + s.id()
              + " exists (at revision "
              + r.revision()
              + "); nothing was"
              + " changed; use PUT /student/update to change it",
          Map.of(Headers.REVISION, Long.toString(r.revision())));
    }
    written(ctx, node.get().map(), s.key(), r.revision(), value);
  }

  /**
   * {@code PUT /student/update}: changes the {@code name} and {@code age} of a student that exists;
   * 404 when absent. Other fields of the stored row (more columns of a mirrored table) are kept:
   * the value written is the stored row with {@code id}, {@code name} and {@code age} replaced,
   * since a write to a mirror sets every column and would turn the ones it leaves out into NULL.
   * The write is a compare-and-set on the revision that row is at (from memory, else from the
   * source), retried with the newer row when another write came between; a delete that came between
   * ends in 404, never in the student written back.
   */
  void update(Context ctx) {
    Requests.onlyParams(ctx, Set.of());
    Student s = body(ctx);
    ReplicatedMap map = node.get().map();
    Versioned current = map.get(s.key());
    if (current == null) { // this instance may lag: ask the source before answering 404
      current = map.get(s.key(), ReadConsistency.STRONG);
    }
    long expected = current == null ? 0 : current.modRevision();
    for (int attempt = 0; attempt < UPDATE_ATTEMPTS && current != null; attempt++) {
      byte[] value = updated(current, s);
      WriteResult r = map.compareAndSet(s.key(), current.modRevision(), value, Json.CONTENT_TYPE);
      if (r.isApplied()) {
        written(ctx, map, s.key(), r.revision(), value);
        return;
      }
      expected = r.revision(); // the revision it is at now; 0: deleted meanwhile
      current =
          expected == 0
              ? null
              : r.current() != null && r.current().modRevision() == expected
                  ? r.current()
                  : map.get(s.key(), ReadConsistency.STRONG);
      if (current == null) {
        expected = 0;
      }
    }
    if (expected == 0) {
      throw ApiException.notFound(
          "no student with id " + s.id() + "; nothing was changed; use POST /student/add to add it",
          Map.of());
    }
    throw new ApiException(
        409,
        ErrorMapper.CONFLICT,
        "student "
            + s.id()
            + " changed under each of "
            + UPDATE_ATTEMPTS
            + " attempts to update it (now at revision "
            + expected
            + "); nothing was changed; retry",
        Map.of(Headers.REVISION, Long.toString(expected)));
  }

  /** {@code DELETE /student/delete?id=N}: removes a student everywhere; 404 when absent. */
  void delete(Context ctx) {
    Requests.onlyParams(ctx, Set.of(ID));
    long id = idParam(ctx);
    WriteResult r = node.get().map().delete(Long.toString(id));
    if (r.status() == WriteResult.Status.NOT_FOUND) {
      throw ApiException.notFound(
          "no student with id " + id + "; nothing was changed",
          Map.of(Headers.REVISION, Long.toString(r.revision())));
    }
    ctx.status(204).header(Headers.REVISION, Long.toString(r.revision()));
  }

  /**
   * A written student's answer: 200, its revision, and the row as this instance holds it at that
   * revision (it applied the write before the write returned), rendered as {@code GET /student/id}
   * renders it: for a mirrored table that is the row as PostgreSQL stores it (every column, in
   * table order; columns the write left out are null). Should a newer change of the key have been
   * applied already, the answer is the value written.
   */
  private static void written(
      Context ctx, ReplicatedMap map, String key, long revision, byte[] value) {
    Versioned v = map.get(key);
    JsonNode stored = v != null && v.modRevision() == revision ? storedStudent(v) : null;
    ctx.header(Headers.REVISION, Long.toString(revision))
        .header(Headers.ETAG, Headers.etag(revision));
    if (stored != null) {
      Json.send(ctx, 200, stored);
    } else {
      ctx.status(200).contentType(Json.CONTENT_TYPE).result(value);
    }
  }

  /**
   * The value an update writes: the stored row with {@code id}, {@code name} and {@code age} set to
   * the request's (in their places; other fields kept), or the student alone when the stored value
   * is not a JSON object.
   */
  private static byte[] updated(Versioned current, Student s) {
    JsonNode row = storedStudent(current);
    if (!(row instanceof ObjectNode object)) {
      return Json.bytes(s);
    }
    object.put(ID, s.id());
    object.put(NAME, s.name());
    object.put(AGE, s.age());
    return Json.bytes(object);
  }

  // -----------------------------------------------------------------------------------------------
  // Parsing and checking
  // -----------------------------------------------------------------------------------------------

  /** The {@code id} query parameter: required, a whole number that fits 64 bits. */
  private static long idParam(Context ctx) {
    String raw = ctx.queryParam(ID);
    if (raw == null || raw.isBlank()) {
      throw ApiException.badRequest(
          "query parameter 'id' is required: " + ctx.method() + " " + ctx.path() + "?id=<number>");
    }
    Long id = parseId(raw.strip());
    if (id == null) {
      throw ApiException.badRequest(
          "query parameter 'id': expected a whole number (64-bit), was '" + raw + "'");
    }
    return id;
  }

  /**
   * {@code s} as a 64-bit whole number written in decimal digits (and a leading minus), or null.
   */
  private static @Nullable Long parseId(String s) {
    if (!s.matches("-?[0-9]{1,19}")) {
      return null;
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** The id a key names when it is the canonical decimal form of one ({@code "42"}), else null. */
  static @Nullable Long canonicalId(String key) {
    Long id = parseId(key);
    return id != null && id.toString().equals(key) ? id : null;
  }

  /** A stored value as a student object, or null when it is not a JSON object. */
  private static @Nullable JsonNode storedStudent(Versioned v) {
    try {
      JsonNode n = READER.readTree(v.value());
      return n instanceof ObjectNode ? n : null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * The request body as a student: a JSON object of exactly {@code id} (whole number, 64-bit),
   * {@code name} (string) and {@code age} (whole number, 32-bit); anything else is a 400 naming the
   * problem.
   */
  private Student body(Context ctx) {
    byte[] bytes = Requests.body(ctx, settings.maxValueBytes());
    JsonNode n;
    try {
      n = READER.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest("body: not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw ApiException.badRequest("body: not valid JSON: " + e.getMessage());
    }
    if (n == null || n.isMissingNode()) {
      throw ApiException.badRequest(
          "body: empty; expected a JSON object {\"id\": <number>, \"name\": <string>, \"age\":"
              + " <number>}");
    }
    if (!n.isObject()) {
      throw ApiException.badRequest(
          "body: expected a JSON object {\"id\", \"name\", \"age\"}, was a JSON "
              + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
    }
    Set<String> unknown = new TreeSet<>();
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f)) {
        unknown.add(f);
      }
    }
    if (!unknown.isEmpty()) {
      throw ApiException.badRequest(
          "body: unknown field(s) "
              + String.join(", ", unknown)
              + "; a student has exactly id, name and age");
    }
    JsonNode id = required(n, ID, "a whole number");
    if (!id.isIntegralNumber() || !id.canConvertToLong()) {
      throw wrongType(ID, "a whole number (64-bit)", id);
    }
    JsonNode name = required(n, NAME, "a string");
    if (!name.isTextual()) {
      throw wrongType(NAME, "a string", name);
    }
    JsonNode age = required(n, AGE, "a whole number");
    if (!age.isIntegralNumber() || !age.canConvertToInt()) {
      throw wrongType(AGE, "a whole number (32-bit)", age);
    }
    return new Student(id.longValue(), name.textValue(), age.intValue());
  }

  private static JsonNode required(JsonNode body, String field, String type) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      throw ApiException.badRequest(
          "body: field '"
              + field
              + "' is required ("
              + type
              + ")"
              + (v == null ? "" : ", was null"));
    }
    return v;
  }

  private static ApiException wrongType(String field, String expected, JsonNode was) {
    String shown = was.toString();
    if (shown.length() > 40) {
      shown = shown.substring(0, 40) + "...";
    }
    return ApiException.badRequest(
        "body: field '" + field + "': expected " + expected + ", was " + shown);
  }
}
