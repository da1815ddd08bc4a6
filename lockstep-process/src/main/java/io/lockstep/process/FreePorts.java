package io.lockstep.process;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free TCP ports for servers started by tests, found by binding them and closing the socket again.
 *
 * <p>A port handed out here is usually bound by another process some time later (a server started
 * late, or restarted after a kill). Meanwhile nothing may take it, so ports are taken from below
 * the kernel's ephemeral range ({@code /proc/sys/net/ipv4/ip_local_port_range}, 32768 and up by
 * default): the ports the kernel gives out by itself, to every outgoing connection and to every
 * {@code bind} to port 0 of any process, come from that range only, so none of them can be a port
 * handed out here. Ports are taken in turn from a random start, each checked free on every address
 * ({@code 0.0.0.0}), so the ports of one cluster are close together and a scheme that derives a
 * second port from the first (JGroups' FD_SOCK2 listens on its transport port + 100 to + 103) does
 * not land on another of them. Ports handed out are never handed out again within this JVM, so
 * harnesses side by side never collide with each other. Another JVM using this class starts from
 * its own random point of the range, so it could only collide by walking onto a port handed out
 * here before the server bound it. Where the ephemeral range cannot be read or leaves no room below
 * it, falls back to port 0. Thread safe.
 */
public final class FreePorts {
  private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();
  private static final int LOWEST = 20000;

  /** Room kept below the ephemeral range for ports derived from ours (FD_SOCK2's + 100..103). */
  private static final int MARGIN = 200;

  private static final int[] RANGE = range();
  private static int next =
      RANGE == null ? 0 : RANGE[0] + ThreadLocalRandom.current().nextInt(RANGE[1] - RANGE[0]);

  private FreePorts() {}

  /** One free port. */
  public static int one() {
    return take(1).get(0);
  }

  /** {@code count} distinct free ports. */
  public static synchronized List<Integer> take(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("count: must be >= 1, was " + count);
    }
    return RANGE == null ? ephemeral(count) : fromRange(count);
  }

  private static List<Integer> fromRange(int count) {
    List<Integer> ports = new ArrayList<>();
    int size = RANGE[1] - RANGE[0];
    for (int tried = 0; ports.size() < count; tried++) {
      if (tried >= size) {
        throw new IllegalStateException(
            "no free port in ["
                + RANGE[0]
                + ", "
                + RANGE[1]
                + ") (found "
                + ports
                + " of "
                + count
                + ")");
      }
      int port = next;
      next = next + 1 >= RANGE[1] ? RANGE[0] : next + 1;
      if (!GIVEN.contains(port) && bindable(port)) {
        GIVEN.add(port);
        ports.add(port);
      }
    }
    return List.copyOf(ports);
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(port)); // the wildcard address: free on every interface
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The kernel's choice of port 0; the fallback. */
  private static List<Integer> ephemeral(int count) {
    List<ServerSocket> held = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    try {
      int attempts = 0;
      while (ports.size() < count) {
        if (++attempts > count * 50) {
          throw new IllegalStateException(
              "no free loopback ports after "
                  + (attempts - 1)
                  + " attempts (found "
                  + ports
                  + " of "
                  + count
                  + ")");
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

  /**
   * [from, to) below the ephemeral range, or null when that range is unknown or leaves too little
   * room.
   */
  private static int[] range() {
    try {
      String line;
      // Not Files.readString: on this /proc file (whose size reads as 0) it returned the first byte
      // only.
      try (BufferedReader r =
          Files.newBufferedReader(
              Path.of("/proc/sys/net/ipv4/ip_local_port_range"), StandardCharsets.US_ASCII)) {
        line = r.readLine();
      }
      String[] lowHigh = line.trim().split("\\s+");
      int low = Integer.parseInt(lowHigh[0]);
      int to = low - MARGIN;
      return to - LOWEST >= 1000 ? new int[] {LOWEST, to} : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
