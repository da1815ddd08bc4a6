package io.lockstep;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockstep.internal.LockstepNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.jspecify.annotations.NullMarked;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The module system, not a convention, keeps the engines private: a module that requires core (as
 * every backend, the server and the command line do) cannot compile against {@code
 * io.lockstep.internal}, while the API and the SPI stay open to it. Compiles a small module against
 * core's own compiled classes (with their {@code module-info.class}).
 */
class ModuleBoundaryTest {

  @TempDir Path dir;

  @Test
  void aModuleRequiringCore_cannotImportTheEngines() throws Exception {
    Result r =
        compile(
            "import io.lockstep.internal.LockstepNode;\n"
                + "class Outside { Class<?> c = LockstepNode.class; }\n");
    assertThat(r.ok()).as(r.log()).isFalse();
    assertThat(r.log()).contains("io.lockstep.internal").contains("not visible");
  }

  @Test
  void aModuleRequiringCore_compilesAgainstTheApiAndTheSpi() throws Exception {
    Result r =
        compile(
            "import io.lockstep.Lockstep;\nimport io.lockstep.spi.BackendProvider;\n"
                + "class Outside { Class<?> a = Lockstep.class; Class<?> b = BackendProvider.class; }\n");
    assertThat(r.ok()).as(r.log()).isTrue();
  }

  private record Result(boolean ok, String log) {}

  private Result compile(String body) throws IOException, URISyntaxException {
    Path coreClasses =
        Path.of(LockstepNode.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Path jspecify =
        Path.of(NullMarked.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Path caffeine =
        Path.of(
            com.github.benmanes.caffeine.cache.Caffeine.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
    assertThat(coreClasses.resolve("module-info.class"))
        .as("core is compiled as a module")
        .exists();
    Path src = Files.createDirectories(dir.resolve("src/outside/p"));
    Files.writeString(
        dir.resolve("src/outside/module-info.java"), "module outside { requires io.lockstep; }\n");
    Files.writeString(src.resolve("Outside.java"), "package p;\n" + body);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    int code =
        javac.run(
            null,
            log,
            log,
            "-d",
            dir.resolve("out").toString(),
            "--module-path",
            coreClasses
                + java.io.File.pathSeparator
                + jspecify
                + java.io.File.pathSeparator
                + caffeine,
            dir.resolve("src/outside/module-info.java").toString(),
            src.resolve("Outside.java").toString());
    return new Result(code == 0, log.toString(StandardCharsets.UTF_8));
  }
}
