package io.lockstep.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free TCP ports on the loopback interface, for servers started by tests.
 *
 * <p>A port is found by binding port 0 and closing the socket again, so another process may take it
 * before the server binds it; the window is short and the kernel hands out ports in rotation, which
 * makes a clash rare. Ports handed out by this class are never handed out again within the same
 * JVM, so harnesses started side by side in one test run never collide with each other. Thread
 * safe.
 */
public final class FreePorts {
  private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

  private FreePorts() {}

  /** One free port on 127.0.0.1. */
  public static int one() {
    return take(1).get(0);
  }

  /** {@code count} distinct free ports on 127.0.0.1, held open together while they are chosen. */
  public static List<Integer> take(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("count: must be >= 1, was " + count);
    }
    List<ServerSocket> held = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    try {
      int attempts = 0;
      while (ports.size() < count) {
        if (++attempts > count * 50) {
          throw new IllegalStateException("no free loopback ports after " + (attempts - 1)
              + " attempts (found " + ports + " of " + count + ")");
        }
        ServerSocket s = new ServerSocket();
        held.add(s);
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int port = s.getLocalPort();
        if (GIVEN.add(port)) {
          ports.add(port);
        }
      }
      return List.copyOf(ports);
    } catch (IOException e) {
      throw new UncheckedIOException("finding a free loopback port failed", e);
    } finally {
      for (ServerSocket s : held) {
        try {
          s.close();
        } catch (IOException ignored) {
          // nothing to release
        }
      }
    }
  }
}
