package io.lockstep.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lockstep.DriftReport;
import io.lockstep.DriftTarget;
import io.lockstep.KeyRange;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The JSON of the drift routes, both ends: {@code POST /admin/drift/ranges} and {@code POST
 * /admin/drift/repair} (served by the server, called by {@link HttpDriftTarget}), and the report of
 * {@code POST /admin/reconcile} and {@code lockstep check --json}. docs/drift.md shows each.
 */
public final class DriftWire {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private DriftWire() {}

  /** A range request: {@code {"revision": R, "digests": ["0:0"], "entries": ["8:a3"]}}. */
  static ObjectNode rangesRequest(long revision, List<KeyRange> digests, List<KeyRange> entries) {
    ObjectNode o = F.objectNode();
    o.put("revision", revision);
    ArrayNode d = o.putArray("digests");
    digests.forEach(r -> d.add(r.toString()));
    ArrayNode e = o.putArray("entries");
    entries.forEach(r -> e.add(r.toString()));
    return o;
  }

  /**
   * A range answer ({@code "partial": true} added from a near-mode replica): {@code
   * {"appliedRevision": A, "excluded": [keys], "digests": [["8:a3", "hexdigest", count]],
   * "entries": [{"range": "8:a3", "entries": [["key", modRevision, "hexdigest"]]}]}}.
   */
  static ObjectNode rangesAnswer(DriftTarget.Ranges r) {
    ObjectNode o = F.objectNode();
    o.put("appliedRevision", r.appliedRevision());
    if (r.partial()) {
      o.put("partial", true);
    }
    ArrayNode x = o.putArray("excluded");
    r.excluded().forEach(x::add);
    ArrayNode d = o.putArray("digests");
    for (DriftTarget.RangeDigest rd : r.digests()) {
      d.addArray().add(rd.range().toString()).add(hex(rd.digest())).add(rd.count());
    }
    ArrayNode e = o.putArray("entries");
    for (DriftTarget.RangeEntries re : r.entries()) {
      ObjectNode one = e.addObject();
      one.put("range", re.range().toString());
      ArrayNode list = one.putArray("entries");
      for (DriftTarget.Summary s : re.entries()) {
        list.addArray().add(s.key()).add(s.modRevision()).add(hex(s.digest()));
      }
    }
    return o;
  }

  static DriftTarget.Ranges parseRangesAnswer(JsonNode o, long bytes) {
    Set<String> excluded = new HashSet<>();
    o.path("excluded").forEach(k -> excluded.add(k.asText()));
    List<DriftTarget.RangeDigest> ds = new ArrayList<>();
    for (JsonNode d : o.path("digests")) {
      ds.add(
          new DriftTarget.RangeDigest(
              KeyRange.parse(d.get(0).asText()),
              Long.parseUnsignedLong(d.get(1).asText(), 16),
              d.get(2).asInt()));
    }
    List<DriftTarget.RangeEntries> es = new ArrayList<>();
    for (JsonNode e : o.path("entries")) {
      List<DriftTarget.Summary> list = new ArrayList<>();
      for (JsonNode s : e.path("entries")) {
        list.add(
            new DriftTarget.Summary(
                s.get(0).asText(),
                s.get(1).asLong(),
                Long.parseUnsignedLong(s.get(2).asText(), 16)));
      }
      es.add(new DriftTarget.RangeEntries(KeyRange.parse(e.path("range").asText()), list));
    }
    return new DriftTarget.Ranges(
        o.path("appliedRevision").asLong(),
        excluded,
        ds,
        es,
        bytes,
        o.path("partial").asBoolean(false));
  }

  /** The report as JSON; every field of {@link DriftReport}, {@code unrepaired} too. */
  public static ObjectNode report(DriftReport r) {
    ObjectNode o = F.objectNode();
    o.put("target", r.target());
    o.put("revision", r.revision());
    o.put("keysChecked", r.keysChecked());
    ArrayNode d = o.putArray("drifted");
    r.drifted().forEach(d::add);
    ArrayNode rep = o.putArray("repaired");
    r.repaired().forEach(rep::add);
    ArrayNode un = o.putArray("unrepaired");
    r.unrepaired().forEach(un::add);
    o.put("bytesMoved", r.bytesMoved());
    o.put("tookMillis", r.took().toMillis());
    return o;
  }

  private static String hex(long v) {
    return Long.toHexString(v);
  }
}
