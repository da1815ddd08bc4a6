package io.lockstep.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendUri;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeerSettingsTest {
  private static final BackendContext CTX =
      new BackendContext("orders", "node-1", Duration.ofSeconds(3));

  private static PeerSettings parse(String uri) {
    return parse(uri, Map.of());
  }

  private static PeerSettings parse(String uri, Map<String, String> env) {
    return PeerSettings.parse(BackendUri.parse(uri), CTX, env::get);
  }

  @Test
  void bareScheme_isAGroupOfOne_onAFreeLoopbackPort() {
    PeerSettings s = parse("peer:");
    assertThat(s.discovery()).isEqualTo(PeerSettings.Discovery.SINGLE);
    assertThat(s.voters()).containsExactly("node-1");
    assertThat(s.selfVoter()).isEqualTo("node-1");
    assertThat(s.majority()).isEqualTo(1);
    assertThat(s.bind()).isEqualTo(new PeerSettings.HostPort("127.0.0.1", 0));
    assertThat(s.cluster()).isEqualTo("orders");
    assertThat(s.dataDir())
        .isEqualTo(Path.of(System.getProperty("user.dir"), "lockstep-peer-data", "orders-node-1"));
    assertThat(s.failureTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.operationTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(parse("peer://").discovery()).isEqualTo(PeerSettings.Discovery.SINGLE);
  }

  @Test
  void staticList_bindInTheList_isThatVoter() {
    PeerSettings s =
        parse(
            "peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800?bind=10.0.0.2:7800&data=/var/lib/ls&cluster=c1&failure_timeout=5s");
    assertThat(s.discovery()).isEqualTo(PeerSettings.Discovery.STATIC);
    assertThat(s.voters()).containsExactly("10.0.0.1:7800", "10.0.0.2:7800", "10.0.0.3:7800");
    assertThat(s.initialHosts()).hasSize(3);
    assertThat(s.selfVoter()).isEqualTo("10.0.0.2:7800");
    assertThat(s.majority()).isEqualTo(2);
    assertThat(s.dataDir()).isEqualTo(Path.of("/var/lib/ls"));
    assertThat(s.cluster()).isEqualTo("c1");
    assertThat(s.failureTimeout()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void staticList_bindNotInTheList_isANonVoter() {
    PeerSettings s = parse("peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800?bind=10.0.0.9:7800");
    assertThat(s.isVoter()).isFalse();
    assertThat(s.bind()).isEqualTo(new PeerSettings.HostPort("10.0.0.9", 7800));
  }

  @Test
  void staticList_withoutBind_isANonVoter_onAnyPort_loopbackWhenTheVotersAre() {
    assertThat(parse("peer://127.0.0.1:7800,127.0.0.1:7801,127.0.0.1:7802").bind())
        .isEqualTo(new PeerSettings.HostPort("127.0.0.1", 0));
    PeerSettings remote = parse("peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800");
    assertThat(remote.bind()).isEqualTo(new PeerSettings.HostPort("site_local", 0));
    assertThat(remote.isVoter()).isFalse();
  }

  @Test
  void bind_fallsBackToTheEnvironment_theParameterWins() {
    Map<String, String> env = Map.of("LOCKSTEP_PEER_BIND", "10.0.0.3:7800");
    assertThat(parse("peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800", env).selfVoter())
        .isEqualTo("10.0.0.3:7800");
    assertThat(
            parse("peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800?bind=10.0.0.1:7800", env)
                .selfVoter())
        .isEqualTo("10.0.0.1:7800");
  }

  @Test
  void fileDiscovery_votersByInstanceId() {
    PeerSettings s = parse("peer:file:/tmp/lockstep-group?voters=node-0,node-1,node-2");
    assertThat(s.discovery()).isEqualTo(PeerSettings.Discovery.FILE);
    assertThat(s.folder()).isEqualTo(Path.of("/tmp/lockstep-group"));
    assertThat(s.voters()).containsExactly("node-0", "node-1", "node-2");
    assertThat(s.selfVoter()).isEqualTo("node-1");
    assertThat(s.bind()).isEqualTo(new PeerSettings.HostPort("127.0.0.1", 0));
    assertThat(parse("peer:file:/tmp/g?voters=x,y,z").isVoter()).isFalse();
  }

  @Test
  void dnsDiscovery_votersByInstanceId_sitelocalPort7800() {
    PeerSettings s =
        parse("peer:dns:lockstep.shop.svc.cluster.local?voters=lockstep-0,lockstep-1,lockstep-2");
    assertThat(s.discovery()).isEqualTo(PeerSettings.Discovery.DNS);
    assertThat(s.dnsQuery()).isEqualTo("lockstep.shop.svc.cluster.local");
    assertThat(s.voters()).containsExactly("lockstep-0", "lockstep-1", "lockstep-2");
    assertThat(s.isVoter()).isFalse();
    assertThat(s.bind()).isEqualTo(new PeerSettings.HostPort("site_local", 7800));
    BackendContext pod = new BackendContext("orders", "lockstep-2", Duration.ofSeconds(3));
    PeerSettings v =
        PeerSettings.parse(
            BackendUri.parse(
                "peer:dns:lockstep?voters=lockstep-0,lockstep-1,lockstep-2&bind=10.1.2.3:7800"),
            pod,
            k -> null);
    assertThat(v.selfVoter()).isEqualTo("lockstep-2");
    assertThat(v.bind()).isEqualTo(new PeerSettings.HostPort("10.1.2.3", 7800));
  }

  @Test
  void badUris_areRefused_namingThePart() {
    List<String[]> cases =
        List.of(
            new String[] {"etcd://x:1", "scheme must be peer"},
            new String[] {"peer://a:1,b:2?colour=blue", "unknown parameter 'colour'"},
            new String[] {"peer://a:1,b:2/path", "peer takes no path"},
            new String[] {"peer://a,b:2", "voter endpoint must be host:port"},
            new String[] {"peer://a:x", "bad port"},
            new String[] {"peer://a:0", "needs a port"},
            new String[] {"peer://a:1,a:1", "listed twice"},
            new String[] {"peer://a:1?voters=a", "voters is only for"},
            new String[] {"peer:file:/x", "voters=name,name,... is required"},
            new String[] {"peer:file:relative?voters=a", "must be absolute"},
            new String[] {"peer:file:?voters=a", "no folder"},
            new String[] {"peer:dns:?voters=a", "no name"},
            new String[] {"peer:dns:x?voters=a,a", "listed twice"},
            new String[] {"peer:dns:x?voters=a b", "voter name 'a b'"},
            new String[] {"peer:?bind=nohost", "bind must be host:port"},
            new String[] {"peer:?bind=h:70000", "port must be in [0, 65535]"},
            new String[] {"peer:?failure_timeout=5", "needs a unit"},
            new String[] {"peer:?failure_timeout=100ms", "must be in [1s, 10m]"},
            new String[] {"peer:?data=", "must name a folder"},
            new String[] {"peer://a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10", "at most 9 voters"});
    for (String[] c : cases) {
      assertThatThrownBy(() -> parse(c[0]))
          .as(c[0])
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(c[1]);
    }
  }

  @Test
  void data_defaultsToAFolderPerClusterAndVoter_underTheWorkingDirectory_tempDirOnlyWhenGiven() {
    Path cwd = Path.of(System.getProperty("user.dir"));
    PeerSettings voter =
        parse("peer://10.0.0.1:7800,10.0.0.2:7800,10.0.0.3:7800?bind=10.0.0.2:7800&cluster=c/1");
    assertThat(voter.dataDir())
        .isAbsolute()
        .isEqualTo(cwd.resolve("lockstep-peer-data").resolve("c_1-10.0.0.2_7800"));
    PeerSettings named = parse("peer:file:/tmp/g?voters=node-0,node-1,node-2");
    assertThat(named.dataDir()).isEqualTo(cwd.resolve("lockstep-peer-data/orders-node-1"));
    assertThat(parse("peer:").dataDir())
        .as("the same URI in the same folder finds the same data again")
        .isEqualTo(parse("peer:").dataDir());
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"), "x");
    assertThat(parse("peer:?data=" + tmp).dataDir()).isEqualTo(tmp);
  }
}
