package io.lockstep;

import java.time.Instant;
import java.util.Objects;

/**
 * A live instance as registered in the backend's membership.
 *
 * @param id the instance id, unique in the cluster
 * @param url the base URL other instances and tools reach it at, or empty
 * @param startedAt when the instance started
 */
public record Member(String id, String url, Instant startedAt) {
  public Member {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(startedAt, "startedAt");
  }
}
