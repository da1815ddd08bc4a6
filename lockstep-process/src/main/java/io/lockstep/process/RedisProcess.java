package io.lockstep.process;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * A real Redis server for tests, on a free loopback port with a throwaway directory; its life cycle
 * (stop, kill, pause, restart on the same port and directory, close) is {@link LocalServer}'s. A
 * stop is a SIGTERM, on which Redis flushes its append-only file and exits.
 *
 * <p>The constructor starts the server and returns once it answers {@code PING}.
 *
 * <p>Settings: no RDB snapshots ({@code --save ""}), protected mode off on loopback, and, with
 * {@link #withAof()}, an append-only file ({@code --appendonly yes --appendfsync everysec}) so the
 * data survives a stop and a restart. Output goes to {@code redis.log} in the directory; failures
 * quote its tail.
 *
 * <p>The binary is {@code $REDIS_SERVER_BIN}, else {@code redis-server} on the {@code PATH}, else
 * {@code /usr/bin/redis-server}. When none exists the constructor fails: tests that need Redis
 * never skip. Thread safe; no dependency on a test framework.
 */
public final class RedisProcess extends LocalServer {
  /**
   * Starts Redis without persistence on a free loopback port with a new directory, and waits for
   * PING.
   */
  public RedisProcess() {
    this(new String[0]);
  }

  /**
   * Starts Redis with an append-only file ({@code appendfsync everysec}), so a restart keeps the
   * data.
   */
  public static RedisProcess withAof() {
    return new RedisProcess("--appendonly", "yes", "--appendfsync", "everysec");
  }

  /**
   * As {@link #RedisProcess()}, with extra redis-server options, e.g. {@code "--appendonly",
   * "yes"}.
   */
  public RedisProcess(String... extraArgs) {
    this(
        Binaries.locate("REDIS_SERVER_BIN", "redis-server", "redis-server"),
        FreePorts.one(),
        TempDirs.create("lockstep-redis-"),
        List.of(extraArgs));
  }

  /**
   * Starts Redis serving TLS only on a free loopback port ({@code --port 0 --tls-port PORT}) with
   * {@code cert} and {@code key} (PEM), client certificates signed by {@code ca} accepted but not
   * required ({@code --tls-auth-clients optional}), and extra options, e.g. ACL users ({@code
   * "--user", "app", "on", ">secret", "~*", "&*", "+@all", "--user", "default", "off"}). Its {@link
   * #backendUri()} is {@code rediss://127.0.0.1:PORT}. Readiness is a PING over TLS with {@code
   * probe} (which must trust {@code ca}); a {@code NOAUTH} answer counts as up.
   */
  public static RedisProcess withTls(
      Path cert, Path key, Path ca, SSLContext probe, String... extraArgs) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--tls-cert-file",
                cert.toString(),
                "--tls-key-file",
                key.toString(),
                "--tls-ca-cert-file",
                ca.toString(),
                "--tls-auth-clients",
                "optional"));
    args.addAll(List.of(extraArgs));
    return new RedisProcess(
        Binaries.locate("REDIS_SERVER_BIN", "redis-server", "redis-server"),
        FreePorts.one(),
        TempDirs.create("lockstep-redis-"),
        args,
        probe);
  }

  private RedisProcess(Path binary, int port, Path dir, List<String> extraArgs) {
    this(binary, port, dir, extraArgs, null);
  }

  private RedisProcess(Path binary, int port, Path dir, List<String> extraArgs, SSLContext tls) {
    super(
        tls == null ? "redis" : "rediss",
        port,
        dir,
        ManagedProcess.builder("redis on 127.0.0.1:" + port)
            .command(() -> command(binary, port, dir, extraArgs, tls != null))
            .workingDirectory(dir)
            .log(dir.resolve("redis.log"))
            .readiness(() -> ping(port, tls)));
    startOrClose();
  }

  private static List<String> command(
      Path binary, int port, Path dir, List<String> extraArgs, boolean tls) {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    if (tls) {
      cmd.addAll(List.of("--port", "0", "--tls-port", String.valueOf(port)));
    } else {
      cmd.addAll(List.of("--port", String.valueOf(port)));
    }
    cmd.addAll(
        List.of(
            "--bind", "127.0.0.1",
            "--protected-mode", "no",
            "--dir", dir.toString(),
            "--save", "",
            "--daemonize", "no",
            "--logfile", ""));
    cmd.addAll(extraArgs);
    return cmd;
  }

  /**
   * Sends one inline PING on a fresh connection; ready on {@code +PONG} (not on {@code -LOADING}).
   */
  private static void ping(int port, SSLContext tls) throws IOException {
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      plain.setSoTimeout(1000);
      Socket s =
          tls == null ? plain : tls.getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      StringBuilder b = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0 && c != '\n') {
        b.append((char) c);
      }
      String answer = b.toString().trim();
      if (!answer.startsWith("+PONG") && !(tls != null && answer.startsWith("-NOAUTH"))) {
        throw new IOException(answer.isEmpty() ? "no answer to PING" : answer);
      }
    }
  }
}
