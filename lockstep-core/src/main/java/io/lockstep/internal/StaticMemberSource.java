package io.lockstep.internal;

import io.lockstep.Member;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A fixed membership (groupcache's {@code PEERS_SELF} and {@code PEERS_SET}): each member's id and
 * URL is its URL, without a trailing slash; this instance is included whether listed or not.
 */
public final class StaticMemberSource implements MemberSource {
  private final List<Member> members;

  public StaticMemberSource(String selfUrl, List<String> peerUrls) {
    Set<String> urls = new LinkedHashSet<>();
    urls.add(normalise(selfUrl));
    for (String u : peerUrls) {
      if (!u.isBlank()) {
        urls.add(normalise(u));
      }
    }
    List<Member> list = new ArrayList<>();
    for (String u : urls) {
      list.add(new Member(u, u, Instant.EPOCH));
    }
    this.members = List.copyOf(list);
  }

  /**
   * {@code url} trimmed, without trailing slashes; a bare {@code host:port} gets {@code http://}.
   */
  public static String normalise(String url) {
    String u = url.trim();
    while (u.endsWith("/")) {
      u = u.substring(0, u.length() - 1);
    }
    if (!u.contains("://")) {
      u = "http://" + u;
    }
    return u;
  }

  @Override
  public List<Member> current() {
    return members;
  }

  @Override
  public void onChange(Consumer<List<Member>> listener) {
    // never changes
  }

  @Override
  public void close() {}
}
