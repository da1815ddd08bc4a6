package io.lockstep.peer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lockstep.Lockstep;
import io.lockstep.Member;
import io.lockstep.WriteResult;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jgroups.Message;
import org.jgroups.protocols.TCP_NIO2;
import org.jgroups.stack.Protocol;
import org.jgroups.stack.ProtocolStack;
import org.jgroups.util.ByteArrayDataOutputStream;
import org.junit.jupiter.api.Test;

/**
 * The peer backend with {@code secret_file}: the group's traffic is encrypted with a key derived
 * from the shared secret. Three voters and a non-voter holding the secret replicate; an instance
 * with another secret, or none, never joins and sees none of the data.
 */
class PeerEncryptionIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  @Test
  void membersWithTheSecretReplicate_andOneWithAnotherSecretOrNoneNeverJoinsNorReads()
      throws Exception {
    try (PeerGroup g = new PeerGroup("enc", 3)) {
      Path secret = Files.writeString(g.root.resolve("secret"), "correct horse battery staple\n");
      Path other = Files.writeString(g.root.resolve("other"), "another secret, just as long\n");
      String withSecret = "&secret_file=" + secret;
      List<Lockstep> nodes = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        nodes.add(g.node(g.voterUri(i) + withSecret, "v-" + i));
      }
      nodes.add(g.node(g.nonVoterUri() + withSecret, "reader"));
      await()
          .atMost(PATIENCE)
          .until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));
      WriteResult w =
          nodes.get(3).map().put("k", "{\"secret\": 42}".getBytes(UTF_8), "application/json");
      for (Lockstep n : nodes) {
        assertThat(n.map().replica().awaitRevision(w.revision(), PATIENCE)).isTrue();
        assertThat(n.map().get("k").valueAsString()).isEqualTo("{\"secret\": 42}");
      }

      Lockstep wrong = g.node(g.nonVoterUri() + "&secret_file=" + other, "intruder");
      Lockstep plain = g.node(g.nonVoterUri(), "plain");
      Thread.sleep(5_000); // several join timeouts and merge rounds
      for (Lockstep outsider : List.of(wrong, plain)) {
        assertThat(outsider.map().replica().isReady()).as("an outsider's replica").isFalse();
        assertThat(outsider.map().get("k")).isNull();
        assertThat(outsider.map().replica().appliedRevision()).isLessThan(w.revision());
      }
      List<String> ids =
          nodes.get(0).members().orTimeout(5, TimeUnit.SECONDS).join().stream()
              .map(Member::id)
              .toList();
      assertThat(ids).containsExactlyInAnyOrder("v-0", "v-1", "v-2", "reader");
      // The group goes on writing while the outsiders knock.
      WriteResult again = nodes.get(0).map().put("k2", "{}".getBytes(UTF_8), "application/json");
      assertThat(nodes.get(3).map().replica().awaitRevision(again.revision(), PATIENCE)).isTrue();
      assertThat(wrong.map().get("k2")).isNull();
    }
  }

  /** Keeps a copy of every message this instance sends, as the transport gets it. */
  static final class Recorder extends Protocol {
    final List<byte[]> sent = new CopyOnWriteArrayList<>();

    @Override
    public Object down(Message msg) {
      try {
        ByteArrayDataOutputStream out = new ByteArrayDataOutputStream();
        msg.writeTo(out);
        sent.add(Arrays.copyOf(out.buffer(), out.position()));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return down_prot.down(msg);
    }

    boolean sentAnyContaining(byte[] needle) {
      for (byte[] m : sent) {
        for (int i = 0; i + needle.length <= m.length; i++) {
          if (Arrays.equals(m, i, i + needle.length, needle, 0, needle.length)) {
            return true;
          }
        }
      }
      return false;
    }
  }

  /** Writes a recognizable value from a non-voter and returns what that instance sent. */
  private static Recorder writeAndRecord(String cluster, String params) throws Exception {
    try (PeerGroup g = new PeerGroup(cluster, 3)) {
      String extra = params.replace("ROOT", g.root.toString());
      Files.writeString(g.root.resolve("secret"), "correct horse battery staple\n");
      List<Lockstep> nodes = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        nodes.add(g.node(g.voterUri(i) + extra, "v-" + i));
      }
      PeerBackend b = g.backend(g.nonVoterUri() + extra, "writer");
      Recorder recorder = new Recorder();
      b.channel()
          .getProtocolStack()
          .insertProtocol(recorder, ProtocolStack.Position.ABOVE, TCP_NIO2.class);
      Lockstep writer = g.node(b, "writer");
      nodes.add(writer);
      await()
          .atMost(PATIENCE)
          .until(() -> nodes.stream().allMatch(n -> n.map().replica().isReady()));
      WriteResult w = writer.map().put("canary", CANARY.getBytes(UTF_8), "application/json");
      for (Lockstep n : nodes) {
        assertThat(n.map().replica().awaitRevision(w.revision(), PATIENCE)).isTrue();
      }
      return recorder;
    }
  }

  private static final String CANARY = "\"canary-7f3a9c1e-on-the-wire\"";

  @Test
  void theWire_carriesTheValueOnlyWhenThereIsNoSecret() throws Exception {
    Recorder encrypted = writeAndRecord("wire-enc", "&secret_file=ROOT/secret");
    assertThat(encrypted.sent).isNotEmpty();
    assertThat(encrypted.sentAnyContaining(CANARY.getBytes(UTF_8))).isFalse();
    Recorder plain = writeAndRecord("wire-plain", "");
    assertThat(plain.sentAnyContaining(CANARY.getBytes(UTF_8)))
        .as("the control: without a secret the value is on the wire")
        .isTrue();
  }

  @Test
  void theSecret_isAtLeast16Characters_fromAReadableFile_andNeverPrinted() throws Exception {
    try (PeerGroup g = new PeerGroup("enc-uri", 1)) {
      Path shortOne = Files.writeString(g.root.resolve("short"), "too short\n");
      Path good = Files.writeString(g.root.resolve("good"), "sixteen chars ok\n");
      BackendContext ctx = PeerGroup.context("enc-uri", "i1");
      assertThatThrownBy(
              () -> PeerSettings.parse(BackendUri.parse("peer:?secret_file=" + shortOne), ctx))
          .hasMessageContaining("at least 16");
      assertThatThrownBy(
              () ->
                  PeerSettings.parse(
                      BackendUri.parse("peer:?secret_file=" + g.root.resolve("none")), ctx))
          .hasMessageContaining("cannot read");
      PeerSettings s = PeerSettings.parse(BackendUri.parse("peer:?secret_file=" + good), ctx);
      assertThat(s.secret()).isNotNull();
      assertThat(s.toString()).doesNotContain("sixteen");
      // The same secret gives another key in another cluster.
      PeerSettings t =
          PeerSettings.parse(BackendUri.parse("peer:?cluster=other&secret_file=" + good), ctx);
      assertThat(t.secret()).isNotEqualTo(s.secret());
      assertThat(PeerSettings.parse(BackendUri.parse("peer:?secret_file=" + good), ctx).secret())
          .isEqualTo(s.secret());
    }
  }
}
