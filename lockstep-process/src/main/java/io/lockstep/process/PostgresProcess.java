package io.lockstep.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for tests, in the manner of {@link RedisProcess}: {@code initdb} into a
 * throwaway directory, then {@code postgres} on a free loopback port (its Unix socket in the same
 * directory), with the life cycle of {@link LocalServer} (stop, kill, pause, restart on the same
 * port and data directory, close).
 *
 * <p>The constructor runs {@code initdb} (superuser {@code postgres}, {@code trust} authentication,
 * UTF-8) and starts the server, returning once {@code pg_isready} answers. A {@link #stop()} is
 * {@code pg_ctl stop -m fast} (SIGTERM alone is PostgreSQL's "smart" shutdown, which waits for
 * every client to disconnect), a {@link #kill()} a SIGKILL of the postmaster and its backends, as a
 * crash would; a start after a kill runs crash recovery. Settings: {@code wal_level=logical},
 * {@code max_connections=300}, {@code fsync=off} (a killed server keeps what it committed, since
 * the OS keeps the page cache; only an OS crash would lose it), a small {@code shared_buffers};
 * extra {@code -c name=value} settings may be given. Output goes to {@code postgres.log} in the
 * directory; failures quote its tail.
 *
 * <p>{@link #standbyOf} starts a streaming-replication standby of a running server ({@code
 * pg_basebackup -R}), and {@link #promote()} makes it a primary: a failover, for tests.
 *
 * <p>The binaries ({@code initdb}, {@code postgres}, {@code pg_ctl}, {@code pg_isready}) are taken
 * from {@code $POSTGRES_BIN_DIR}, else the newest {@code /usr/lib/postgresql/<version>/bin} (where
 * Debian puts them). When none is found the constructor fails saying so: tests that need PostgreSQL
 * never skip. PostgreSQL refuses to run as root: when this JVM runs as root, every PostgreSQL
 * program runs as the {@code postgres} OS user (through {@code setpriv}), and the directory is
 * handed to that user. Thread safe; no dependency on a test framework.
 */
public final class PostgresProcess extends LocalServer {
  /** The database superuser {@code initdb} creates, and the database clients connect to. */
  public static final String USER = "postgres";

  /** The database clients connect to. */
  public static final String DATABASE = "postgres";

  private static final String OS_USER = "postgres";

  private final Path bin;
  private final Path data;

  /** Runs {@code initdb} into a new directory and starts PostgreSQL on a free loopback port. */
  public PostgresProcess(String... settings) {
    this(binDir(), FreePorts.one(), TempDirs.create("lockstep-postgres-"), List.of(settings));
  }

  /**
   * A streaming-replication standby of {@code primary}: {@code pg_basebackup -R -X stream} from it
   * into a new directory, then a server on a free loopback port that follows it (hot standby: it
   * answers reads). {@link #promote()} makes it a primary.
   */
  public static PostgresProcess standbyOf(PostgresProcess primary, String... settings) {
    return new PostgresProcess(
        primary.bin,
        FreePorts.one(),
        TempDirs.create("lockstep-postgres-"),
        List.of(settings),
        primary.port());
  }

  private PostgresProcess(Path bin, int port, Path dir, List<String> settings) {
    this(bin, port, dir, settings, 0);
  }

  private PostgresProcess(Path bin, int port, Path dir, List<String> settings, int primaryPort) {
    super(
        "postgresql",
        port,
        dir,
        ManagedProcess.builder("postgres on 127.0.0.1:" + port)
            .command(() -> command(bin, port, dir, settings))
            .workingDirectory(dir)
            .log(dir.resolve("postgres.log"))
            .withChildren()
            .stopTimeout(java.time.Duration.ofSeconds(20))
            .readiness(() -> isReady(bin, port)));
    this.bin = bin;
    this.data = dir.resolve("data");
    try {
      if (primaryPort == 0) {
        initdb(bin, dir);
      } else {
        baseBackup(bin, dir, primaryPort);
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    startOrClose();
  }

  /** {@code postgresql://postgres@<endpoint>/postgres}. */
  @Override
  public String backendUri(String endpoint) {
    return "postgresql://" + USER + "@" + endpoint + "/" + DATABASE;
  }

  /**
   * A PgJDBC URL of this server: {@code jdbc:postgresql://127.0.0.1:PORT/postgres?user=postgres}.
   */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + endpoint() + "/" + DATABASE + "?user=" + USER;
  }

  /** The directory holding the PostgreSQL binaries used. */
  public Path binDirectory() {
    return bin;
  }

  /**
   * Stops the server with a fast shutdown ({@code pg_ctl stop -m fast}: open sessions are ended, a
   * checkpoint is written) and waits for it to exit.
   */
  @Override
  public void stop() {
    if (isRunning()) {
      resume(); // a frozen postmaster acts on no signal
      List<String> cmd = new ArrayList<>(asPostgresUser());
      cmd.addAll(
          List.of(
              bin.resolve("pg_ctl").toString(),
              "stop",
              "-D",
              data.toString(),
              "-m",
              "fast",
              "-w",
              "-t",
              "20"));
      // Should it fail (the server exited meanwhile), what follows still stops or kills it.
      String out = run(cmd, "pg_ctl stop", false);
      try {
        Files.writeString(
            logFile(),
            "=== pg_ctl stop -m fast: " + out.strip() + System.lineSeparator(),
            StandardCharsets.UTF_8,
            java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.APPEND);
      } catch (IOException e) {
        // the log is for diagnosis only
      }
    }
    super.stop();
  }

  /**
   * Promotes this standby to a primary ({@code pg_ctl promote -w}): it stops following its primary,
   * starts a new timeline and accepts writes.
   */
  public void promote() {
    List<String> cmd = new ArrayList<>(asPostgresUser());
    cmd.addAll(
        List.of(
            bin.resolve("pg_ctl").toString(), "promote", "-D", data.toString(), "-w", "-t", "30"));
    run(cmd, "pg_ctl promote", true);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private static List<String> command(Path bin, int port, Path dir, List<String> settings) {
    List<String> cmd = new ArrayList<>(asPostgresUser());
    cmd.addAll(
        List.of(
            bin.resolve("postgres").toString(),
            "-D",
            dir.resolve("data").toString(),
            "-p",
            Integer.toString(port),
            "-k",
            dir.toString(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "wal_level=logical",
            "-c",
            "max_connections=300",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "shared_buffers=32MB",
            "-c",
            "logging_collector=off"));
    for (String s : settings) {
      cmd.add("-c");
      cmd.add(s);
    }
    return cmd;
  }

  private static void isReady(Path bin, int port) throws IOException {
    Process p =
        new ProcessBuilder(
                bin.resolve("pg_isready").toString(),
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(port),
                "-U",
                USER,
                "-t",
                "1")
            .redirectErrorStream(true)
            .start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException("pg_isready: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  private static void initdb(Path bin, Path dir) {
    handToPostgresUser(dir);
    List<String> cmd = new ArrayList<>(asPostgresUser());
    cmd.addAll(
        List.of(
            bin.resolve("initdb").toString(),
            "-D",
            dir.resolve("data").toString(),
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync"));
    run(cmd, "initdb", true);
  }

  private static void baseBackup(Path bin, Path dir, int primaryPort) {
    handToPostgresUser(dir);
    List<String> cmd = new ArrayList<>(asPostgresUser());
    cmd.addAll(
        List.of(
            bin.resolve("pg_basebackup").toString(),
            "-D",
            dir.resolve("data").toString(),
            "-h",
            "127.0.0.1",
            "-p",
            Integer.toString(primaryPort),
            "-U",
            USER,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync"));
    run(cmd, "pg_basebackup", true);
  }

  /** Runs a PostgreSQL program to its end, its output appended to the log; fails loudly. */
  private static String run(List<String> cmd, String what, boolean mustSucceed) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(what + " did not finish within 60 s: " + out);
      }
      if (p.exitValue() != 0 && mustSucceed) {
        throw new IllegalStateException(
            what + " failed (exit " + p.exitValue() + ", " + String.join(" ", cmd) + "):\n" + out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(what + " (" + cmd.get(0) + ") could not be started", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + what, e);
    }
  }

  /** The prefix that runs a program as the {@code postgres} OS user when this JVM is root. */
  private static List<String> asPostgresUser() {
    if (!isRoot()) {
      return List.of();
    }
    Path setpriv = Path.of("/usr/bin/setpriv");
    if (!Files.isExecutable(setpriv)) {
      throw new IllegalStateException(
          "running as root, PostgreSQL must run as the '"
              + OS_USER
              + "' OS user, but /usr/bin/setpriv (util-linux) is missing");
    }
    return List.of(
        setpriv.toString(),
        "--reuid=" + OS_USER,
        "--regid=" + OS_USER,
        "--init-groups",
        "--reset-env",
        "--");
  }

  private static boolean isRoot() {
    try {
      return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException | UnsupportedOperationException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  /** When root: gives the directory to the {@code postgres} OS user (initdb needs to own it). */
  private static void handToPostgresUser(Path dir) {
    if (!isRoot()) {
      return;
    }
    try {
      UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
      UserPrincipal user = lookup.lookupPrincipalByName(OS_USER);
      GroupPrincipal group = lookup.lookupPrincipalByGroupName(OS_USER);
      try (Stream<Path> all = Files.walk(dir)) {
        for (Path p : all.sorted(Comparator.naturalOrder()).toList()) {
          PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class);
          view.setOwner(user);
          view.setGroup(group);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "handing " + dir + " to the '" + OS_USER + "' OS user failed (is there such a user?)", e);
    }
  }

  /** {@code $POSTGRES_BIN_DIR}, else the newest {@code /usr/lib/postgresql/<version>/bin}. */
  static Path binDir() {
    String hint = "run `scripts/setup` (which installs Debian's postgresql)";
    String env = System.getenv("POSTGRES_BIN_DIR");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isExecutable(p.resolve("initdb")) && Files.isExecutable(p.resolve("postgres"))) {
        return p;
      }
      throw new IllegalStateException(
          "POSTGRES_BIN_DIR="
              + env
              + " holds no executable initdb and postgres; unset it or "
              + hint);
    }
    Path root = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(root)) {
      try (Stream<Path> versions = Files.list(root)) {
        Path best = null;
        int bestVersion = -1;
        for (Path v : versions.toList()) {
          String name = v.getFileName().toString();
          if (name.matches("[0-9]+") && Files.isExecutable(v.resolve("bin/initdb"))) {
            int n = Integer.parseInt(name);
            if (n > bestVersion) {
              bestVersion = n;
              best = v.resolve("bin");
            }
          }
        }
        if (best != null) {
          return best;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("listing " + root + " failed", e);
      }
    }
    throw new IllegalStateException(
        "PostgreSQL not found (looked at $POSTGRES_BIN_DIR and /usr/lib/postgresql/<version>/bin): "
            + hint);
  }
}
