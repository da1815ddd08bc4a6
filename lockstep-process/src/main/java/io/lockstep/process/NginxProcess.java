package io.lockstep.process;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real nginx for tests, on a free loopback port with a throwaway directory, that spreads requests
 * round-robin over a list of upstream base URLs ({@code http://host:port}), as a load balancer in
 * front of several Lockstep servers does. The upstream list can be replaced while it runs ({@link
 * #reload(List)}, {@code nginx -s reload}), e.g. without a member that left.
 *
 * <p>The constructor writes {@code nginx.conf} into the directory, starts nginx in the foreground
 * ({@code daemon off}) and returns once nginx answers its own configuration generation on {@value
 * #GENERATION_PATH}. nginx runs as a master with one worker process: a reload ({@code -s reload},
 * SIGHUP) starts a worker on the new file and retires the old one, which closes its idle
 * connections (nginx with {@code master_process off} keeps serving the old configuration after a
 * reload). A kill or close kills the worker too, and so does the watchdog when the JVM dies. The
 * directory also holds the pid file, the temporary files, {@code error.log} (nginx's standard
 * error, where its error log goes) and {@code access.log}, one tab-separated line per request with
 * the upstream addresses tried and the instance that answered (see {@link #accessLog()}).
 *
 * <p>Proxying: HTTP/1.1 with kept-alive upstream connections; {@code Host} (the client's) and
 * {@code Authorization} passed on; a failed upstream is marked down for {@value #FAIL_TIMEOUT_S} s
 * after one failure (nginx's passive health check), and a request is passed to the next upstream
 * only on a connection error ({@code proxy_next_upstream error}), never on a timeout or an error
 * status: an upstream that timed out may have applied the request, and a non-idempotent request
 * sent twice is applied twice. nginx never resends a POST or PATCH at all (no {@code
 * non_idempotent}).
 *
 * <p>The binary is {@code $NGINX_BIN}, else {@code nginx} on the {@code PATH}, else {@code
 * /usr/bin/nginx} or {@code /usr/sbin/nginx}. When none exists the constructor fails: tests that
 * need nginx never skip. {@link #close()} kills nginx and deletes the directory; a shutdown hook
 * and a watchdog do the same when the JVM exits or dies first. Thread safe; no dependency on a test
 * framework.
 */
public final class NginxProcess implements AutoCloseable {
  /** The path nginx answers itself, with the generation of the configuration it runs. */
  public static final String GENERATION_PATH = "/.nginx/generation";

  static final int FAIL_TIMEOUT_S = 5;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Path binary;
  private final int port;
  private final Path dir;
  private final ManagedProcess process;
  private volatile List<String> upstreams;
  private volatile int generation = 1;

  /**
   * Starts nginx on a free loopback port in front of {@code upstreams}, base URLs such as {@code
   * http://127.0.0.1:8081} (plain HTTP; a path is not allowed), and waits until it answers.
   *
   * @throws IllegalArgumentException when the list is empty or an entry is not {@code
   *     http://host:port}
   */
  public NginxProcess(List<String> upstreams) {
    this(
        Binaries.locate("NGINX_BIN", "nginx", "nginx"),
        FreePorts.one(),
        TempDirs.create("lockstep-nginx-"),
        List.copyOf(upstreams));
  }

  private NginxProcess(Path binary, int port, Path dir, List<String> upstreams) {
    this.binary = binary;
    this.port = port;
    this.dir = dir;
    this.upstreams = upstreams;
    this.process =
        ManagedProcess.builder("nginx on 127.0.0.1:" + port)
            .command(
                () ->
                    List.of(
                        binary.toString(),
                        "-p",
                        dir + "/",
                        "-c",
                        conf().toString(),
                        "-e",
                        "stderr"))
            .workingDirectory(dir)
            .log(dir.resolve("error.log"))
            .readiness(this::answersGeneration)
            .withChildren()
            .deleteOnClose(dir)
            .build();
    try {
      Files.createDirectories(dir.resolve("temp"));
      Files.writeString(conf(), config(port, dir, upstreams, generation), StandardCharsets.UTF_8);
      start();
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("writing " + conf() + " failed", e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Where it is
  // ---------------------------------------------------------------------------------------------

  /** {@code http://127.0.0.1:PORT}, where clients reach the upstreams through nginx. */
  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** The upstream base URLs of the configuration running now. */
  public List<String> upstreams() {
    return upstreams;
  }

  /** The upstreams as nginx names them in {@code $upstream_addr}: {@code host:port}. */
  public List<String> upstreamAddresses() {
    return upstreams.stream().map(NginxProcess::address).toList();
  }

  /** The throwaway directory: configuration, pid, temporary files and logs. */
  public Path directory() {
    return dir;
  }

  /** The configuration file nginx runs. */
  public Path configFile() {
    return conf();
  }

  /** nginx's standard output and error, where its error log goes. */
  public Path errorLog() {
    return process.logFile();
  }

  /** The access log; see {@link #accessLog()}. */
  public Path accessLogFile() {
    return dir.resolve("access.log");
  }

  public long pid() {
    return process.pid();
  }

  public boolean isRunning() {
    return process.isAlive();
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle
  // ---------------------------------------------------------------------------------------------

  /**
   * Starts nginx (again) with the current configuration and waits until it answers (30 s at most).
   *
   * @throws IllegalStateException when it is running, was closed, or is not ready in time (then it
   *     is killed; the message carries the error log's tail)
   */
  public synchronized void start() {
    process.start();
    try {
      process.awaitReady(START_TIMEOUT);
    } catch (RuntimeException e) {
      process.kill();
      throw e;
    }
  }

  /**
   * Replaces the upstream list: writes the new configuration, has nginx check it ({@code nginx
   * -t}), signals a reload ({@code nginx -s reload}) and waits until nginx answers with the new
   * generation on a new connection and the old worker is gone, so every request sent after this
   * returns goes to the new list only (the old worker finishes the requests in flight; their
   * connections close then).
   */
  public synchronized void reload(List<String> newUpstreams) {
    List<String> list = List.copyOf(newUpstreams);
    int next = generation + 1;
    String text = config(port, dir, list, next);
    Path candidate = dir.resolve("nginx.conf.next");
    try {
      Files.writeString(candidate, text, StandardCharsets.UTF_8);
      nginx("-t", candidate);
      Files.move(candidate, conf(), StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + candidate + " failed", e);
    }
    generation = next;
    upstreams = list;
    nginx("-s", conf(), "reload");
    process.awaitReady(START_TIMEOUT);
    awaitOneWorker();
  }

  /** Waits until the master has one child left: the worker of the configuration just loaded. */
  private void awaitOneWorker() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (ProcessHandle.of(process.pid()).map(h -> h.children().count()).orElse(0L) > 1) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(
            "the old nginx worker did not exit within "
                + START_TIMEOUT.toSeconds()
                + " s of the reload; error log tail:\n"
                + process.logTail(20));
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the nginx reload", e);
      }
    }
  }

  /** Stops nginx (SIGTERM, a fast shutdown) and waits for it to exit. */
  public void stop() {
    process.stop();
  }

  /** Kills nginx at once (SIGKILL). */
  public void kill() {
    process.kill();
  }

  /** Kills nginx and deletes the directory. Idempotent. */
  @Override
  public void close() {
    process.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Logs
  // ---------------------------------------------------------------------------------------------

  /**
   * One request as the access log has it. {@code upstreamAddresses} lists every upstream tried, in
   * order ({@code 127.0.0.1:8081, 127.0.0.1:8082} when the first refused the connection), {@code
   * upstreamStatuses} their answers ({@code 502, 200}), {@code instance} the {@code
   * X-Lockstep-Instance} of the answer; an empty list or {@code "-"} when there was none.
   */
  public record AccessLogEntry(
      String method,
      String uri,
      int status,
      List<String> upstreamAddresses,
      List<String> upstreamStatuses,
      String instance) {}

  /** Every request logged so far, oldest first. */
  public List<AccessLogEntry> accessLog() {
    List<String> lines;
    try {
      lines =
          Files.exists(accessLogFile())
              ? Files.readAllLines(accessLogFile(), StandardCharsets.UTF_8)
              : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + accessLogFile() + " failed", e);
    }
    List<AccessLogEntry> entries = new ArrayList<>();
    for (String line : lines) {
      String[] f = line.split("\t", -1);
      if (f.length < 6) {
        continue; // a line being written
      }
      entries.add(
          new AccessLogEntry(f[0], f[1], Integer.parseInt(f[2]), list(f[3]), list(f[4]), f[5]));
    }
    return entries;
  }

  /** The last {@code lines} lines of the error log. */
  public String errorLogTail(int lines) {
    return process.logTail(lines);
  }

  @Override
  public String toString() {
    return "NginxProcess[" + url() + " -> " + upstreams + ", dir=" + dir + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private Path conf() {
    return dir.resolve("nginx.conf");
  }

  /**
   * Asks for {@value #GENERATION_PATH} on a new connection (a kept-alive one would still be served
   * by the configuration it was opened under) and passes when the answer is this generation.
   */
  private void answersGeneration() throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      s.setSoTimeout(2000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET " + GENERATION_PATH + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      int body = answer.indexOf("\r\n\r\n");
      String expected = Integer.toString(generation);
      if (!answer.startsWith("HTTP/1.1 200")
          || body < 0
          || !answer.substring(body + 4).strip().equals(expected)) {
        throw new IOException(
            "expected generation " + expected + ", got: " + answer.strip().replace("\r\n", " | "));
      }
    }
  }

  /** {@code $upstream_addr} and {@code $upstream_status}: comma separated, "-" for none. */
  private static List<String> list(String field) {
    if (field.isEmpty() || field.equals("-")) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (String s : field.split("[,:]\\s+|,\\s*")) {
      if (!s.isBlank()) {
        out.add(s.strip());
      }
    }
    return out;
  }

  /** Runs {@code nginx -t -c file} or {@code nginx -s <signal> -c file}; fails with its output. */
  private void nginx(String flag, Path file, String... rest) {
    List<String> cmd =
        new ArrayList<>(
            List.of(binary.toString(), "-p", dir + "/", "-c", file.toString(), "-e", "stderr"));
    cmd.add(flag);
    cmd.addAll(List.of(rest));
    try {
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(String.join(" ", cmd) + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + String.join(" ", cmd), e);
    }
  }

  /** {@code host:port} of an upstream base URL. */
  static String address(String baseUrl) {
    URI u;
    try {
      u = URI.create(baseUrl);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("upstream: not a URL: " + baseUrl, e);
    }
    if (!"http".equals(u.getScheme())
        || u.getHost() == null
        || u.getPort() < 0
        || !(u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))
        || u.getRawQuery() != null) {
      throw new IllegalArgumentException(
          "upstream: expected http://host:port (no path), was " + baseUrl);
    }
    return u.getHost() + ":" + u.getPort();
  }

  /**
   * Run by root, the worker stays root, as the throwaway directory (mode 700) is root's; nginx
   * would switch it to {@code nobody}. Run by another user, nginx does not switch users.
   */
  private static String user() {
    return "root".equals(System.getProperty("user.name")) ? "user root;\n" : "";
  }

  /**
   * The whole configuration: a master and one worker in the foreground, every file in {@code dir}.
   */
  static String config(int port, Path dir, List<String> upstreams, int generation) {
    if (upstreams.isEmpty()) {
      throw new IllegalArgumentException("upstreams: at least one is needed");
    }
    StringBuilder servers = new StringBuilder();
    for (String u : upstreams) {
      servers
          .append("        server ")
          .append(address(u))
          .append(" max_fails=1 fail_timeout=")
          .append(FAIL_TIMEOUT_S)
          .append("s;\n");
    }
    String d = dir.toString();
    return """
        # Written by NginxProcess (generation %2$d). In the foreground, a master and one worker;
        # every file in %1$s.
        daemon off;
        master_process on;
        worker_processes 1;
        %6$spid %1$s/nginx.pid;
        error_log stderr notice;

        events {
            worker_connections 4096;
        }

        http {
            default_type application/octet-stream;
            client_body_temp_path %1$s/temp/client_body;
            proxy_temp_path %1$s/temp/proxy;
            fastcgi_temp_path %1$s/temp/fastcgi;
            uwsgi_temp_path %1$s/temp/uwsgi;
            scgi_temp_path %1$s/temp/scgi;

            # method, URI, status, upstreams tried, their statuses, the instance that answered
            log_format upstreams '$request_method\\t$request_uri\\t$status\\t$upstream_addr\\t'
                                 '$upstream_status\\t$upstream_http_x_lockstep_instance\\t'
                                 '$request_time';
            access_log %1$s/access.log upstreams;

            upstream lockstep {
        %3$s        keepalive 32;
            }

            server {
                listen 127.0.0.1:%4$d;
                # The servers' own limit (--max-value-bytes) answers, with its JSON 413.
                client_max_body_size 64m;

                location = %5$s {
                    access_log off;
                    default_type text/plain;
                    return 200 "%2$d\\n";
                }

                location / {
                    proxy_pass http://lockstep;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $http_host;
                    proxy_set_header Authorization $http_authorization;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                    proxy_connect_timeout 2s;
                    # Long polls (min_revision, /admin/await) wait up to --max-wait (10 s).
                    proxy_read_timeout 60s;
                    # Next upstream on a connection error only: not on a timeout or a 5xx, after
                    # which the first upstream may have applied the request; a non-idempotent
                    # request sent twice is applied twice. nginx never resends POST or PATCH; a GET,
                    # PUT or DELETE whose connection breaks before the answer's header is resent.
                    proxy_next_upstream error;
                }
            }
        }
        """
        .formatted(d, generation, servers, port, GENERATION_PATH, user());
  }
}
