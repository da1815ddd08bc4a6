package io.lockstep;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Core stays free of backends and web frameworks; the SPI never reaches into the engines. */
class ArchitectureTest {
  private static final JavaClasses CORE = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.lockstep");

  @Test
  void core_dependsOnNoBackendOrWebFramework() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage(
        "io.etcd..", "io.grpc..", "io.javalin..", "org.eclipse.jetty..", "com.fasterxml..",
        "picocli..", "org.jgroups..", "io.lettuce..", "org.postgresql..", "org.apache.kafka..",
        "io.lockstep.server..", "io.lockstep.etcd..", "io.lockstep.testkit..")
        .check(CORE);
  }

  @Test
  void spi_doesNotDependOnEngines() {
    noClasses().that().resideInAPackage("io.lockstep.spi..")
        .should().dependOnClassesThat().resideInAPackage("io.lockstep.internal..")
        .check(CORE);
  }
}
