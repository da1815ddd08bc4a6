package io.lockstep.testkit;

import io.lockstep.process.Hosts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A small network of test hosts on this machine, for real partitions: N network namespaces, each
 * with one address on a private bridge ({@code 10.231.S.11}, {@code .12}, ...; the host side is
 * {@code 10.231.S.1}), so processes started in them talk over a real TCP/IP path that nftables can
 * cut. {@link #partition} installs drop rules inside the namespaces of each side against the other
 * side's addresses; {@link #heal} removes them. {@link #close} deletes the namespaces and the
 * bridge.
 *
 * <p>Needs root, {@code ip} (iproute2) and {@code nft} (nftables); {@code scripts/setup} installs
 * them. Traffic stays on this machine, inside namespaces this lab made. Not thread safe.
 */
public final class NetLab implements Hosts, AutoCloseable {
  private static final String TABLE = "lockstep_partition";
  private final String tag;
  private final int subnet;
  private final int hosts;
  private final String bridge;
  private boolean closed;
  private final Thread hook;

  private NetLab(int hosts) {
    this.hosts = hosts;
    this.tag = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
    this.subnet = ThreadLocalRandom.current().nextInt(1, 250);
    this.bridge = "lsbr" + tag;
    this.hook = new Thread(this::destroy, "netlab-cleanup-" + tag);
  }

  /** Creates {@code hosts} namespaces on a new bridge; fails loudly when that is not possible. */
  public static NetLab create(int hosts) {
    if (hosts < 1 || hosts > 40) {
      throw new IllegalArgumentException("hosts: 1..40, was " + hosts);
    }
    NetLab lab = new NetLab(hosts);
    Runtime.getRuntime().addShutdownHook(lab.hook);
    try {
      lab.build();
      return lab;
    } catch (RuntimeException e) {
      lab.close();
      throw e;
    }
  }

  private void build() {
    run("ip", "link", "add", bridge, "type", "bridge");
    run("ip", "addr", "add", hostAddress() + "/24", "dev", bridge);
    run("ip", "link", "set", bridge, "up");
    for (int i = 0; i < hosts; i++) {
      String ns = namespace(i);
      String veth = "lsv" + tag + i;
      run("ip", "netns", "add", ns);
      run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
      run("ip", "link", "set", veth, "master", bridge);
      run("ip", "link", "set", veth, "up");
      run("ip", "netns", "exec", ns, "ip", "addr", "add", address(i) + "/24", "dev", "eth0");
      run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
      run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    }
  }

  @Override
  public int size() {
    return hosts;
  }

  /** The namespace name of host {@code i} (0-based). */
  public String namespace(int i) {
    return "ls" + tag + "h" + i;
  }

  /** The address of host {@code i} (0-based). */
  @Override
  public String address(int i) {
    return "10.231." + subnet + "." + (11 + i);
  }

  /** This machine's address on the lab's bridge. */
  public String hostAddress() {
    return "10.231." + subnet + ".1";
  }

  /** The command prefix that runs a program inside host {@code i}. */
  @Override
  public List<String> exec(int i) {
    return List.of("ip", "netns", "exec", namespace(i));
  }

  /**
   * Cuts every packet between the two sides, both ways, in each host's own firewall. Hosts in
   * neither side are left alone. Replaces any earlier partition.
   */
  public void partition(Set<Integer> sideA, Set<Integer> sideB) {
    heal();
    cut(sideA, sideB);
    cut(sideB, sideA);
  }

  private void cut(Set<Integer> from, Set<Integer> to) {
    List<String> others = new ArrayList<>();
    for (int j : to) {
      others.add(address(j));
    }
    String set = "{ " + String.join(", ", others) + " }";
    for (int i : from) {
      nft(i, "add table inet " + TABLE);
      nft(
          i,
          "add chain inet "
              + TABLE
              + " in { type filter hook input priority 0 ; policy accept ; }");
      nft(
          i,
          "add chain inet "
              + TABLE
              + " out { type filter hook output priority 0 ; policy accept ; }");
      nft(i, "add rule inet " + TABLE + " in ip saddr " + set + " drop");
      nft(i, "add rule inet " + TABLE + " out ip daddr " + set + " drop");
    }
  }

  /** Runs {@code nft} inside host {@code i}'s namespace; nft reads its arguments as one command. */
  private void nft(int i, String command) {
    run("ip", "netns", "exec", namespace(i), "nft", command);
  }

  /** Removes every partition rule. */
  public void heal() {
    for (int i = 0; i < hosts; i++) {
      runQuietly("ip", "netns", "exec", namespace(i), "nft", "delete table inet " + TABLE);
    }
  }

  @Override
  public void close() {
    destroy();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // shutting down
    }
  }

  private synchronized void destroy() {
    if (closed) {
      return;
    }
    closed = true;
    for (int i = 0; i < hosts; i++) {
      runQuietly("ip", "netns", "delete", namespace(i)); // takes its end of the veth pair along
    }
    runQuietly("ip", "link", "delete", bridge);
  }

  private static void run(String... cmd) {
    Result r = exec(cmd);
    if (r.code != 0) {
      throw new IllegalStateException(
          "'"
              + String.join(" ", cmd)
              + "' failed with "
              + r.code
              + ": "
              + r.output
              + " (needs root, iproute2 and nftables: run scripts/setup)");
    }
  }

  private static void runQuietly(String... cmd) {
    exec(cmd);
  }

  private record Result(int code, String output) {}

  private static Result exec(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out");
      }
      return new Result(p.exitValue(), out);
    } catch (IOException e) {
      return new Result(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }
}
