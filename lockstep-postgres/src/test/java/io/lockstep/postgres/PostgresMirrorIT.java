package io.lockstep.postgres;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.ReadConsistency;
import io.lockstep.ReplicatedMap;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.testkit.TestResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A mirrored table ({@code ?mirror=<table>}) through the map API: rows are JSON objects keyed by
 * the primary key's text, written with {@code jsonb_populate_record}, and every SQL writer's change
 * reaches every instance.
 */
class PostgresMirrorIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  @RegisterExtension
  static final TestResource<PostgresSource> pg = TestResource.of(PostgresSource::onNewServer);

  private final List<AutoCloseable> open = new ArrayList<>();
  private String table;
  private String prefix;

  @BeforeEach
  void table() {
    table = "student_" + UUID.randomUUID().toString().substring(0, 8);
    prefix = "mirror-" + table;
    pg.get().sql("CREATE TABLE " + table + " (id bigint PRIMARY KEY, name text NOT NULL, age int)");
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  private ReplicatedMap node() {
    Lockstep n =
        Lockstep.builder()
            .backend(pg.get().backendUri() + "?mirror=" + table)
            .keyPrefix(prefix)
            .build();
    open.add(n);
    await().atMost(PATIENCE).until(() -> n.map().replica().isReady());
    return n.map();
  }

  private static byte[] json(String s) {
    return s.getBytes(UTF_8);
  }

  @Test
  void existingRows_areListed_andSqlWritesReachEveryInstance() {
    pg.get().sql("INSERT INTO " + table + " VALUES (1, 'Ann', 20), (2, 'Bob', 21)");
    List<ReplicatedMap> maps = List.of(node(), node(), node());
    for (ReplicatedMap m : maps) {
      assertThat(m.get("1").valueAsString()).isEqualTo("{\"id\":1,\"name\":\"Ann\",\"age\":20}");
      assertThat(m.get("1").contentType()).isEqualTo("application/json");
    }
    pg.get()
        .sql(
            "UPDATE " + table + " SET age = 30 WHERE id = 1",
            "DELETE FROM " + table + " WHERE id = 2",
            "INSERT INTO " + table + " VALUES (3, 'Cy', NULL)");
    for (ReplicatedMap m : maps) {
      await().atMost(PATIENCE).until(() -> m.get("2") == null && m.get("3") != null);
      assertThat(m.get("1").valueAsString()).isEqualTo("{\"id\":1,\"name\":\"Ann\",\"age\":30}");
      assertThat(m.get("3").valueAsString()).isEqualTo("{\"id\":3,\"name\":\"Cy\",\"age\":null}");
    }
    long digest = pg.get().mirrorDigest(prefix, table, "id");
    assertThat(maps).allSatisfy(m -> assertThat(m.replica().digest()).isEqualTo(digest));
  }

  @Test
  void writesThroughLockstep_areUpsertsOfTheRow_keyedByThePrimaryKey() {
    ReplicatedMap a = node();
    ReplicatedMap b = node();
    // The key sets the primary key; unknown fields are ignored; a missing column becomes NULL.
    WriteResult w =
        a.put("7", json("{\"id\": 99, \"name\": \"Eve\", \"extra\": true}"), "application/json");
    assertThat(w.isApplied()).isTrue();
    assertThat(pg.get().rows(table, "id"))
        .isEqualTo(Map.of("7", "{\"id\":7,\"name\":\"Eve\",\"age\":null}"));
    assertThat(b.replica().awaitRevision(w.revision(), PATIENCE)).isTrue();
    Versioned v = b.get("7");
    assertThat(v.valueAsString()).isEqualTo("{\"id\":7,\"name\":\"Eve\",\"age\":null}");
    assertThat(a.get("7", ReadConsistency.STRONG)).isEqualTo(v);

    WriteResult stale = a.compareAndSet("7", w.revision() + 5, json("{\"name\":\"X\"}"), null);
    assertThat(stale.status()).isEqualTo(WriteResult.Status.CONFLICT);
    assertThat(stale.revision()).isEqualTo(w.revision());
    assertThat(a.compareAndSet("7", 0, json("{\"name\":\"X\"}"), null).status())
        .isEqualTo(WriteResult.Status.CONFLICT);
    WriteResult cas =
        a.compareAndSet("7", w.revision(), json("{\"name\":\"Eve\",\"age\":5}"), null);
    assertThat(cas.isApplied()).isTrue();
    assertThat(a.get("7").valueAsString()).isEqualTo("{\"id\":7,\"name\":\"Eve\",\"age\":5}");

    WriteResult d = b.delete("7");
    assertThat(d.isApplied()).isTrue();
    assertThat(pg.get().rows(table, "id")).isEmpty();
    assertThat(a.replica().awaitRevision(d.revision(), PATIENCE)).isTrue();
    assertThat(a.get("7")).isNull();
    assertThat(a.delete("7").status()).isEqualTo(WriteResult.Status.NOT_FOUND);
  }

  @Test
  void badKeysAndBadRows_areRefused_andNothingIsStored() {
    ReplicatedMap a = node();
    long digest = a.replica().digest();
    assertThatThrownBy(() -> a.put("abc", json("{\"name\":\"A\"}"), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("primary key");
    assertThatThrownBy(() -> a.put("07", json("{\"name\":\"A\"}"), null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> a.put("8", json("not json"), null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> a.put("8", json("[1, 2]"), null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> a.put("8", json("{\"age\": \"old\", \"name\": \"A\"}"), null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> a.put("8", json("{\"age\": 3}"), null)) // name is NOT NULL
        .isInstanceOf(IllegalArgumentException.class);
    pg.get().sql("ALTER TABLE " + table + " ADD CONSTRAINT adult CHECK (age >= 18)");
    assertThatThrownBy(() -> a.put("8", json("{\"name\": \"Kid\", \"age\": 3}"), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("adult");
    assertThat(a.get("abc", ReadConsistency.STRONG)).isNull();
    assertThat(a.delete("abc").status()).isEqualTo(WriteResult.Status.NOT_FOUND);
    assertThat(pg.get().rows(table, "id")).isEmpty();
    assertThat(a.replica().digest()).isEqualTo(digest);
  }

  @Test
  void truncate_startsANewHistory_andEveryInstanceEmpties() {
    pg.get().sql("INSERT INTO " + table + " VALUES (1, 'Ann', 20), (2, 'Bob', 21)");
    List<ReplicatedMap> maps = List.of(node(), node());
    assertThat(maps).allSatisfy(m -> assertThat(m.size()).isEqualTo(2));
    pg.get().sql("TRUNCATE " + table, "INSERT INTO " + table + " VALUES (5, 'Dan', 40)");
    for (ReplicatedMap m : maps) {
      await().atMost(PATIENCE).until(() -> m.size() == 1 && m.get("5") != null);
      assertThat(m.replica().stats().resets()).isGreaterThanOrEqualTo(1);
    }
  }
}
