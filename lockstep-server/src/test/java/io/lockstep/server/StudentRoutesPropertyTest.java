package io.lockstep.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockstep.Versioned;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Random sequences of student requests, good and bad, against a sequential model (id to row): every
 * answer is the model's (status and body), and after every request the source holds exactly the
 * model's rows, so a refused request never stored anything.
 */
class StudentRoutesPropertyTest {
  private static TestServer ts;
  private static final AtomicLong TRIES = new AtomicLong();

  @BeforeContainer
  static void start() {
    ts = TestServer.start(TestServer.settings(b -> b.students(true)));
  }

  @AfterContainer
  static void stop() {
    ts.close();
  }

  /** One request: its kind, the id (offset per try), a name and age, or a bad input's index. */
  record Op(String kind, int id, String name, int age, int bad) {}

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Op> op =
        Combinators.combine(
                Arbitraries.of("add", "update", "delete", "get", "list", "badBody", "badId"),
                Arbitraries.integers().between(0, 4),
                Arbitraries.of("Ann", "Bob", "", "Zoë \"q\""),
                Arbitraries.integers().between(-1, 120),
                Arbitraries.integers().between(0, StudentRoutesTest.BAD_BODIES.size() - 1))
            .as(Op::new);
    return op.list().ofMinSize(1).ofMaxSize(25);
  }

  private static final List<String> BAD_IDS = List.of("", "?id=", "?id=x", "?id=1.5", "?id=1&x=2");

  @Property(tries = 300, edgeCases = net.jqwik.api.EdgeCasesMode.MIXIN)
  void everyAnswerIsTheModels_andTheSourceHoldsExactlyTheModel(@ForAll("ops") List<Op> ops)
      throws Exception {
    long base = TRIES.incrementAndGet() * 100; // this try's own ids
    Map<Long, String> model = new TreeMap<>();
    for (Op op : ops) {
      long id = base + op.id();
      String row =
          "{\"id\":"
              + id
              + ",\"name\":"
              + Json.MAPPER.writeValueAsString(op.name())
              + ",\"age\":"
              + op.age()
              + "}";
      String what = op + " with " + model;
      switch (op.kind()) {
        case "add" -> {
          HttpResponse<byte[]> r = ts.send("POST", "/student/add", row.getBytes(UTF_8));
          if (model.containsKey(id)) {
            TestServer.assertError(r, 409, "conflict");
          } else {
            assertThat(r.statusCode()).as(what).isEqualTo(200);
            assertThat(new String(r.body(), UTF_8)).isEqualTo(row);
            model.put(id, row);
          }
        }
        case "update" -> {
          HttpResponse<byte[]> r = ts.send("PUT", "/student/update", row.getBytes(UTF_8));
          if (model.containsKey(id)) {
            assertThat(r.statusCode()).as(what).isEqualTo(200);
            assertThat(new String(r.body(), UTF_8)).isEqualTo(row);
            model.put(id, row);
          } else {
            TestServer.assertError(r, 404, "not_found");
          }
        }
        case "delete" -> {
          HttpResponse<byte[]> r = ts.delete("/student/delete?id=" + id);
          if (model.remove(id) != null) {
            assertThat(r.statusCode()).as(what).isEqualTo(204);
          } else {
            TestServer.assertError(r, 404, "not_found");
          }
        }
        case "get" -> {
          HttpResponse<byte[]> r = ts.get("/student/id?id=" + id);
          if (model.containsKey(id)) {
            assertThat(r.statusCode()).as(what).isEqualTo(200);
            assertThat(new String(r.body(), UTF_8)).isEqualTo(model.get(id));
          } else {
            TestServer.assertError(r, 404, "not_found");
          }
        }
        case "list" -> {
          JsonNode all = TestServer.json(ts.get("/students"));
          List<String> mine = new ArrayList<>();
          for (JsonNode n : all) {
            long k = n.get("id").asLong();
            if (k >= base && k < base + 100) {
              mine.add(n.toString());
            }
          }
          assertThat(mine).as(what).containsExactlyElementsOf(model.values());
        }
        case "badBody" -> {
          byte[] body = StudentRoutesTest.BAD_BODIES.get(op.bad()).getBytes(UTF_8);
          String method = op.age() % 2 == 0 ? "POST" : "PUT";
          String path = method.equals("POST") ? "/student/add" : "/student/update";
          TestServer.assertError(ts.send(method, path, body), 400, "bad_request");
        }
        default -> { // badId
          String q = BAD_IDS.get(op.bad() % BAD_IDS.size());
          String path = op.age() % 2 == 0 ? "/student/id" : "/student/delete";
          HttpResponse<byte[]> r =
              path.equals("/student/id") ? ts.get(path + q) : ts.delete(path + q);
          TestServer.assertError(r, 400, "bad_request");
        }
      }
      Map<Long, String> stored = new TreeMap<>();
      for (Versioned v : ts.source.entries()) {
        long k = Long.parseLong(v.key());
        if (k >= base && k < base + 100) {
          stored.put(k, new String(v.value(), UTF_8));
        }
      }
      assertThat(stored).as("the source after %s", what).isEqualTo(model);
    }
  }
}
