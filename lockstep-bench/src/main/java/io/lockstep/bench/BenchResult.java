package io.lockstep.bench;

import java.time.Duration;
import java.util.List;

/**
 * What a load run measured.
 *
 * @param config the run's settings
 * @param stats response times and failures per request type and name
 * @param violations what the history checks found; empty when every promise held
 * @param readsChecked how many reads from memory the history checks covered
 * @param elapsed how long the load ran
 * @param usersStarted how many users were spawned
 */
public record BenchResult(
    BenchConfig config,
    RequestStats stats,
    List<History.Violation> violations,
    int readsChecked,
    Duration elapsed,
    int usersStarted) {

  /** True when no request failed and the history checks found nothing. */
  public boolean passed() {
    return stats.totalFailures() == 0 && violations.isEmpty();
  }
}
