package io.lockstep.server;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The host part of the advertised URL of a server listening on every interface, in order: {@code
 * CF_INSTANCE_INTERNAL_IP} (Cloud Foundry's container-to-container address), {@code POD_IP}
 * (Kubernetes, given through the downward API), else the first address of this host that is not
 * loopback, link-local nor a wildcard (IPv4 first, then by interface index). Loopback never: on a
 * platform where every instance uses the same port, {@code 127.0.0.1:<port>} reaches, from any
 * instance, that instance itself.
 */
final class AdvertisedAddress {
  /** The environment variables read, in order. */
  static final List<String> VARIABLES = List.of("CF_INSTANCE_INTERNAL_IP", "POD_IP");

  private AdvertisedAddress() {}

  static String find(Map<String, String> env) {
    for (String name : VARIABLES) {
      String v = env.get(name);
      if (v != null && !v.isBlank()) {
        return v.strip();
      }
    }
    List<InetAddress> found = candidates();
    if (found.isEmpty()) {
      throw new IllegalStateException(
          "cannot tell which address other instances reach this one at: listening on every"
              + " interface, neither "
              + String.join(" nor ", VARIABLES)
              + " is set, and this host has no address but loopback; give an advertised URL"
              + " (--advertise-url), or listen on one address (--bind)");
    }
    return found.get(0).getHostAddress().replaceFirst("%.*$", ""); // no IPv6 scope
  }

  private static List<InetAddress> candidates() {
    List<NetworkInterface> interfaces;
    try {
      interfaces = Collections.list(NetworkInterface.getNetworkInterfaces());
    } catch (SocketException | RuntimeException e) {
      return List.of();
    }
    interfaces.sort(Comparator.comparingInt(NetworkInterface::getIndex));
    List<InetAddress> v4 = new ArrayList<>();
    List<InetAddress> v6 = new ArrayList<>();
    for (NetworkInterface ni : interfaces) {
      try {
        if (!ni.isUp() || ni.isLoopback()) {
          continue;
        }
      } catch (SocketException e) {
        continue;
      }
      for (InetAddress a : Collections.list(ni.getInetAddresses())) {
        if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress()) {
          continue;
        }
        (a instanceof Inet4Address ? v4 : v6).add(a);
      }
    }
    v4.addAll(v6);
    return v4;
  }
}
