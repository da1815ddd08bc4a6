package io.lockstep;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * What the module system cannot say. {@code module-info.java} already keeps core free of every
 * other library but JSpecify and Caffeine (the loading group's caches) and hides {@code
 * io.lockstep.internal} from every other module ({@link ModuleBoundaryTest} proves it); inside the
 * one module, though, the SPI must still not reach into the engines, so that a backend sees only
 * the SPI and the API.
 */
class ArchitectureTest {
  private static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.lockstep");

  @Test
  void spi_doesNotDependOnEngines() {
    noClasses()
        .that()
        .resideInAnyPackage("io.lockstep.spi..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.lockstep.internal..")
        .check(CORE);
  }

  /**
   * Caffeine is an implementation detail of the loading group: neither the API nor the SPI may
   * mention it, so that it can be replaced without breaking a user or a backend.
   */
  @Test
  void apiAndSpi_doNotDependOnCaffeine() {
    noClasses()
        .that()
        .resideInAnyPackage("io.lockstep", "io.lockstep.spi..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("com.github.benmanes.caffeine..")
        .check(CORE);
  }
}
