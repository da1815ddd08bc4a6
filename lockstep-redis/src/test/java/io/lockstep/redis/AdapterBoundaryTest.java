package io.lockstep.redis;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The Redis backend is a thin adapter: it sees core's SPI and API types, never the engines. */
class AdapterBoundaryTest {
  @Test
  void redisBackend_usesNoEngineInternals() {
    JavaClasses redis = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.lockstep.redis");
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.lockstep.internal..", "io.lockstep.server..")
        .check(redis);
  }
}
