package io.lockstep.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lockstep.Member;
import io.lockstep.spi.Membership;
import java.lang.System.Logger.Level;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Membership in {@code <schema>.members}: one row per live instance with an expiry ({@code
 * member_ttl} ahead of the database's clock), renewed every third of it; a row whose expiry passed
 * is not listed (and compaction deletes it a minute later). A clean close deletes the row. The
 * watch is the SPI's default: a poll of {@link #members()} every half second on a thread of its
 * own, so joins, leaves and expiries are seen within half a second of the row changing. Thread
 * safe.
 */
final class PostgresMembership implements Membership {
  private static final System.Logger LOG = System.getLogger(PostgresMembership.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final PostgresBackend backend;
  private final Duration ttl;
  private final Set<Reg> open = ConcurrentHashMap.newKeySet();

  PostgresMembership(PostgresBackend backend, Duration ttl) {
    this.backend = backend;
    this.ttl = ttl;
  }

  @Override
  public CompletableFuture<Registration> register(Member self) {
    String record = json(self);
    return upsert(self.id(), record)
        .thenApply(
            v -> {
              Reg r = new Reg(self.id(), record);
              open.add(r);
              long every = Math.max(100, ttl.toMillis() / 3);
              r.renewal =
                  backend
                      .housekeeping()
                      .scheduleWithFixedDelay(r::renew, every, every, TimeUnit.MILLISECONDS);
              return r;
            });
  }

  private CompletableFuture<Void> upsert(String id, String record) {
    String s = backend.schema();
    return backend.call(
        "registration of member '" + id + "'",
        (c, src) -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO "
                      + s
                      + ".members (ns, id, record, expires_at) VALUES (?, ?, ?, now() + ? *"
                      + " interval '1 millisecond') ON CONFLICT (ns, id) DO UPDATE SET record ="
                      + " EXCLUDED.record, expires_at = EXCLUDED.expires_at")) {
            ps.setString(1, backend.namespace());
            ps.setString(2, id);
            ps.setString(3, record);
            ps.setLong(4, ttl.toMillis());
            ps.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public CompletableFuture<List<Member>> members() {
    String s = backend.schema();
    return backend.call(
        "listing of members",
        (c, src) -> {
          List<Member> all = new ArrayList<>();
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT record FROM "
                      + s
                      + ".members WHERE ns = ? AND expires_at > now() ORDER BY id")) {
            ps.setString(1, backend.namespace());
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                Member m = parse(rs.getString(1));
                if (m != null) {
                  all.add(m);
                }
              }
            }
          }
          return all;
        });
  }

  /** Deletes every open registration of this backend (for its close), each bounded by a timeout. */
  void closeAll() {
    for (Reg r : List.copyOf(open)) {
      r.close();
    }
  }

  static String json(Member m) {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", m.id());
    n.put("url", m.url());
    n.put("startedAt", m.startedAt().toString());
    return n.toString();
  }

  static Member parse(String record) {
    try {
      JsonNode n = JSON.readTree(record);
      return new Member(
          n.get("id").asText(),
          n.path("url").asText(""),
          Instant.parse(n.get("startedAt").asText()));
    } catch (Exception e) {
      LOG.log(Level.WARNING, "ignoring a malformed membership record: {0}", record);
      return null;
    }
  }

  private final class Reg implements Registration {
    private final String id;
    private final String record;
    private final AtomicBoolean closed = new AtomicBoolean();
    volatile ScheduledFuture<?> renewal;

    Reg(String id, String record) {
      this.id = id;
      this.record = record;
    }

    void renew() {
      if (closed.get()) {
        return;
      }
      try {
        upsert(id, record).get(ttl.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.log(Level.DEBUG, "renewing member {0} failed: {1}", id, e.getMessage());
      }
    }

    @Override
    public void close() {
      if (!closed.compareAndSet(false, true)) {
        return;
      }
      open.remove(this);
      ScheduledFuture<?> f = renewal;
      if (f != null) {
        f.cancel(false);
      }
      String s = backend.schema();
      try {
        backend
            .call(
                "deregistration of member '" + id + "'",
                (c, src) -> {
                  try (PreparedStatement ps =
                      c.prepareStatement("DELETE FROM " + s + ".members WHERE ns = ? AND id = ?")) {
                    ps.setString(1, backend.namespace());
                    ps.setString(2, id);
                    ps.executeUpdate();
                  }
                  return null;
                })
            .get(ttl.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.log(Level.DEBUG, "deregistering member {0} failed: {1}", id, e.getMessage());
      }
    }
  }
}
