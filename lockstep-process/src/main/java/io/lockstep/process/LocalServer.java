package io.lockstep.process;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A backend server this JVM runs on loopback ports with a throwaway directory, in the manner of
 * Curator's {@code TestingServer}: the common life cycle of {@link EtcdProcess} and {@link
 * RedisProcess}, over one {@link ManagedProcess}.
 *
 * <p>A subclass's constructor starts the server and returns once it is ready. The server can then
 * be stopped ({@link #stop()}, SIGTERM), killed ({@link #kill()}, SIGKILL), frozen ({@link
 * #pause()}, SIGSTOP) and thawed ({@link #resume()}), and started again ({@link #start()}, {@link
 * #restart()}) on the <em>same</em> ports and directory, so clients see an outage of the same
 * server, with its data, and not a new one. {@link #close()} kills it and deletes the directory; a
 * JVM shutdown hook does the same if the caller forgets, and a watchdog kills the server when the
 * JVM dies without running hooks. Thread safe; no dependency on a test framework.
 */
public abstract class LocalServer implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final String scheme;
  private final int port;
  private final Path dir;
  private final ManagedProcess process;

  /**
   * Builds the process (not started yet: call {@link #startOrClose()} last in the subclass's
   * constructor) of a server whose clients connect to {@code 127.0.0.1:port} with backend URIs
   * {@code scheme://127.0.0.1:port}; {@code dir} is deleted on close.
   */
  protected LocalServer(String scheme, int port, Path dir, ManagedProcess.Builder process) {
    this.scheme = scheme;
    this.port = port;
    this.dir = dir;
    this.process = process.deleteOnClose(dir).build();
  }

  /**
   * Starts the server for the constructor; on failure closes it (deleting the directory) and
   * rethrows.
   */
  protected final void startOrClose() {
    try {
      start();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Where it is
  // ---------------------------------------------------------------------------------------------

  /** The client endpoint as {@code host:port}. */
  public String endpoint() {
    return "127.0.0.1:" + port;
  }

  /** A Lockstep backend URI for this server, e.g. {@code etcd://127.0.0.1:PORT}. */
  public String backendUri() {
    return backendUri(endpoint());
  }

  /**
   * A Lockstep backend URI for clients that reach this server at {@code endpoint} ({@code
   * host:port}), e.g. through a proxy in front of it: {@code etcd://<endpoint>}.
   */
  public String backendUri(String endpoint) {
    return scheme + "://" + endpoint;
  }

  /** The port clients connect to. */
  public int port() {
    return port;
  }

  /** The directory holding the server's data and its log. */
  public Path directory() {
    return dir;
  }

  /** The process id of the server last started. */
  public long pid() {
    return process.pid();
  }

  /** True while the server process is alive (paused counts as alive). */
  public boolean isRunning() {
    return process.isAlive();
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle
  // ---------------------------------------------------------------------------------------------

  /**
   * Starts the server on the same ports and directory and waits until it is ready (30 s at most).
   *
   * @throws IllegalStateException when it is already running, was closed, or is not ready in time
   *     (then it is killed; the message carries the log's tail)
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
   * Stops the server gracefully (SIGTERM), waiting for it to exit; a server that hangs is killed.
   */
  public void stop() {
    process.stop();
  }

  /** Kills the server at once (SIGKILL), as a crash would, and waits for it to be gone. */
  public void kill() {
    process.kill();
  }

  /** Stops (gracefully) and starts the server on the same ports and directory. */
  public synchronized void restart() {
    stop();
    start();
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open but nothing is answered, as in a network
   * partition or a long GC pause.
   */
  public void pause() {
    process.pause();
  }

  /** Lets a {@link #pause() paused} server run again (SIGCONT). */
  public void resume() {
    process.resume();
  }

  /** Kills the server and deletes its directory. Idempotent. */
  @Override
  public void close() {
    process.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Diagnostics
  // ---------------------------------------------------------------------------------------------

  /** The server's log file. */
  public Path logFile() {
    return process.logFile();
  }

  /** The last {@code lines} lines of the log, or a note when there is none. */
  public String logTail(int lines) {
    return process.logTail(lines);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + endpoint() + ", dir=" + dir + "]";
  }
}
