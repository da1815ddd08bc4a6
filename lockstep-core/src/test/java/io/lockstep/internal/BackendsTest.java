package io.lockstep.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.spi.AbstractBackendProvider;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendProvider;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.RevisionModel;
import io.lockstep.testkit.InMemorySource;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Finding the provider of a URI's scheme: one provider of many schemes, unknown and contested
 * schemes.
 */
class BackendsTest {
  private static final BackendContext CONTEXT =
      new BackendContext("app", "i1", Duration.ofSeconds(1));

  @Test
  void serviceLoader_findsAProviderOfTwoSchemes_byEither() {
    TwinBackendProvider.OPENED.clear();
    try (Backend a = Backends.open("twin-a://one", CONTEXT);
        Backend b = Backends.open("TWIN-B://two", CONTEXT)) {
      assertThat(a).isNotNull();
      assertThat(b).isNotNull();
    }
    assertThat(TwinBackendProvider.OPENED)
        .extracting(BackendUri::scheme)
        .containsExactly("twin-a", "twin-b");
    assertThat(TwinBackendProvider.OPENED)
        .extracting(BackendUri::hosts)
        .containsExactly(List.of("one"), List.of("two"));
  }

  @Test
  void unknownScheme_failsListingEverySchemeOfEveryProvider() {
    List<BackendProvider> providers =
        List.of(new Fixed(Set.of("etcd")), new Fixed(Set.of("redis", "rediss")));

    assertThatThrownBy(() -> open("kafka://h:1", providers))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "backend URI: no backend for scheme 'kafka' on the class path (available: [etcd, redis, rediss])");
    assertThatThrownBy(() -> Backends.open("nothing://h", CONTEXT))
        .hasMessageContaining("no backend for scheme 'nothing'")
        .hasMessageContaining("twin-a, twin-b");
  }

  @Test
  void schemeClaimedByTwoProviders_failsNamingBoth_otherSchemesStillOpen() {
    List<BackendProvider> providers =
        List.of(new Fixed(Set.of("redis", "rediss")), new Rival(Set.of("rediss")));

    assertThatThrownBy(() -> open("rediss://h:1", providers))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("scheme 'rediss' is claimed by 2 providers")
        .hasMessageContaining(Fixed.class.getName())
        .hasMessageContaining(Rival.class.getName());
    try (Backend b = open("redis://h:1", providers)) {
      assertThat(b.revisionModel()).isEqualTo(RevisionModel.SPARSE);
    }
  }

  @Test
  void providerSchemes_mustBeGiven_inLowerCase() {
    assertThatThrownBy(() -> new Fixed(Set.of())).hasMessageContaining("declares none");
    assertThatThrownBy(() -> new Fixed(Set.of("Etcd")))
        .hasMessageContaining("'Etcd'")
        .hasMessageContaining("lower-case");
    assertThatThrownBy(() -> new Fixed(Set.of("e tcd"))).hasMessageContaining("'e tcd'");
    assertThat(new Fixed(Set.of("redis", "rediss"))).hasToString("Fixed[redis, rediss]");
  }

  private static Backend open(String uri, List<BackendProvider> providers) {
    return Backends.open(BackendUri.parse(uri), CONTEXT, providers);
  }

  /** A provider of the given schemes. */
  private static final class Fixed extends AbstractBackendProvider {
    Fixed(Set<String> schemes) {
      super(schemes, (uri, context) -> new InMemorySource(RevisionModel.SPARSE).backend());
    }
  }

  /** Another provider class, to contest a scheme. */
  private static final class Rival extends AbstractBackendProvider {
    Rival(Set<String> schemes) {
      super(schemes, (uri, context) -> new InMemorySource(RevisionModel.CONTIGUOUS).backend());
    }
  }
}
