package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The {@code /_lockstep/replica} body, written and read by hand. */
class ReplicaWireTest {

  @Test
  void write_thenParse_givesTheSameAnswer() {
    String body = ReplicaWire.write("node-1", 42, 45);
    assertThat(body)
        .isEqualTo("{\"member\":\"node-1\",\"appliedRevision\":42,\"headRevision\":45}");
    assertThat(ReplicaWire.parse(body)).isEqualTo(new ReplicaWire.Answer("node-1", 42, 45));
  }

  @Test
  void write_escapesTheId_andParseUnescapesIt() {
    String id = "we\"ird\\id\u0001\n/é";
    String body = ReplicaWire.write(id, 0, 0);
    assertThat(body).doesNotContain("\n").contains("\\\"", "\\\\", "\\u0001");
    assertThat(ReplicaWire.parse(body).member()).isEqualTo(id);
  }

  @Test
  void parse_takesAnyOrder_whitespace_unknownFields_andNegativeRevisions() {
    String body =
        " {\n  \"headRevision\" : 9 ,\"extra\":{\"a\":[1,2]},\t\"appliedRevision\":-1,"
            + " \"member\" : \"a\\u0062c\\/d\" , \"more\":\"x\"}\n";
    assertThat(ReplicaWire.parse(body)).isEqualTo(new ReplicaWire.Answer("abc/d", -1, 9));
  }

  @Test
  void parse_readsTheLargestRevision() {
    String body = ReplicaWire.write("n", Long.MAX_VALUE, Long.MAX_VALUE);
    assertThat(ReplicaWire.parse(body).appliedRevision()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void parse_refusesWhatIsNotTheShape() {
    for (String bad :
        new String[] {
          "",
          "null",
          "[]",
          "{}",
          "<html>502 Bad Gateway</html>",
          "{\"member\":\"n\",\"appliedRevision\":1}", // no head
          "{\"member\":\"n\",\"headRevision\":1}", // no applied
          "{\"appliedRevision\":1,\"headRevision\":1}", // no member
          "{\"member\":1,\"appliedRevision\":1,\"headRevision\":1}", // member not a string
          "{\"member\":\"n\",\"appliedRevision\":\"1\",\"headRevision\":1}", // a string
          "{\"member\":\"n\",\"appliedRevision\":1.5,\"headRevision\":1}", // not an integer
          "{\"member\":\"n\",\"appliedRevision\":1e3,\"headRevision\":1}",
          "{\"member\":\"n\",\"appliedRevision\":012,\"headRevision\":1}", // leading zero
          "{\"member\":\"n\",\"appliedRevision\":12x,\"headRevision\":1}",
          "{\"member\":\"n\",\"appliedRevision\":99999999999999999999,\"headRevision\":1}",
          "{\"member\":\"n\",\"xappliedRevision\":1,\"headRevision\":1}", // another field's name
          "{\"member\":\"n\",\"appliedRevision\":1,\"appliedRevision\":2,\"headRevision\":1}",
          "{\"member\":\"a\\qb\",\"appliedRevision\":1,\"headRevision\":1}", // unknown escape
          "{\"member\":\"a\\u12\",\"appliedRevision\":1,\"headRevision\":1}", // short \\u
          "{\"member\":\"a\nb\",\"appliedRevision\":1,\"headRevision\":1}", // raw control char
          "{\"note\":\"{\\\"appliedRevision\\\":7\",\"member\":\"n\",\"headRevision\":1}",
        }) {
      assertThatThrownBy(() -> ReplicaWire.parse(bad))
          .as("%s", bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void parse_doesNotTakeAFieldNameInsideAString() {
    // "appliedRevision":7 inside another field's string must not be read as the field
    String body =
        "{\"note\":\",\\\"appliedRevision\\\":7,\",\"member\":\"n\",\"appliedRevision\":3,"
            + "\"headRevision\":4}";
    assertThat(ReplicaWire.parse(body).appliedRevision()).isEqualTo(3);
  }
}
