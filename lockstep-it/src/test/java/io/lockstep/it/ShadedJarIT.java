package io.lockstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/** The runnable jar is production code only: no test framework and no test support inside. */
class ShadedJarIT {
  private static final List<String> FORBIDDEN =
      List.of(
          "org/junit/",
          "org/assertj/",
          "org/awaitility/",
          "net/jqwik/",
          "org/opentest4j/",
          "com/tngtech/archunit/",
          "io/lockstep/testkit/");

  @Test
  void runnableJar_holdsNoTestFrameworkAndNoTestkitClass() throws Exception {
    Path jar =
        Path.of(System.getProperty("lockstep.server.jar", "../lockstep-cli/target/lockstep.jar"));
    try (JarFile f = new JarFile(jar.toFile())) {
      List<String> names = f.stream().map(ZipEntry::getName).toList();
      assertThat(names)
          .as("the jar has the command line, the server and the backends")
          .contains(
              "io/lockstep/cli/Main.class",
              "io/lockstep/server/LockstepServer.class",
              "io/lockstep/process/ServerProcess.class",
              "io/lockstep/etcd/EtcdBackend.class",
              "io/lockstep/peer/PeerBackend.class",
              "io/lockstep/redis/RedisBackend.class",
              "io/lockstep/postgres/PostgresBackend.class");
      List<String> found =
          names.stream().filter(n -> FORBIDDEN.stream().anyMatch(n::startsWith)).toList();
      assertThat(found).as("test classes in the production jar").isEmpty();
      // System.Logger reaches slf4j through this service, merged with any other of its name.
      String finder =
          new String(
              f.getInputStream(f.getEntry("META-INF/services/java.lang.System$LoggerFinder"))
                  .readAllBytes(),
              java.nio.charset.StandardCharsets.UTF_8);
      assertThat(finder).contains("org.slf4j.jdk.platform.logging.SLF4JSystemLoggerFinder");
      assertThat(names).contains("org/slf4j/bridge/SLF4JBridgeHandler.class");
      // The drift hook (a test-only backend) is not a provider of the production jar.
      String providers =
          new String(
              f.getInputStream(f.getEntry("META-INF/services/io.lockstep.spi.BackendProvider"))
                  .readAllBytes(),
              java.nio.charset.StandardCharsets.UTF_8);
      assertThat(providers).contains("Etcd").doesNotContainIgnoringCase("drift");
      assertThat(f.getManifest().getMainAttributes().getValue("Main-Class"))
          .isEqualTo("io.lockstep.cli.Main");
    }
  }
}
