package io.lockstep;

/**
 * One instance's figures of a {@link LoadingGroup}, named as Go groupcache names them. Counters
 * only grow (per instance, since the group opened).
 *
 * @param gets every {@code get}, whatever the result, and every peer request served (as groupcache
 *     counts them)
 * @param cacheHits gets answered from the main or the hot cache
 * @param peerLoads values fetched from the owner over HTTP
 * @param peerErrors failed fetches from the owner (unreachable, timed out, or an error answer)
 * @param loads gets that missed both caches (before single-flight: callers that waited)
 * @param loadsDeduped loads after single-flight: the fetches and local loads that actually ran
 * @param localLoads loader calls on this instance that succeeded
 * @param localLoadErrors loader calls on this instance that failed or passed the load deadline
 * @param serverRequests gets served to peers ({@link LoadingGroup#serve})
 * @param main the main cache (keys this instance owns)
 * @param hot the hot cache (copies of keys owned elsewhere)
 * @param members how many members this instance routes keys over now ({@link
 *     LoadingGroup#members()}), itself included; not a groupcache figure
 */
public record GroupStats(
    long gets,
    long cacheHits,
    long peerLoads,
    long peerErrors,
    long loads,
    long loadsDeduped,
    long localLoads,
    long localLoadErrors,
    long serverRequests,
    CacheFigures main,
    CacheFigures hot,
    int members) {

  /**
   * One cache's figures.
   *
   * @param items entries now held (an estimate, as Caffeine gives it)
   * @param bytes their weight: value length + key length + a fixed overhead per entry
   * @param hits lookups that found a live entry
   * @param evictions entries dropped for size or expiry
   */
  public record CacheFigures(long items, long bytes, long hits, long evictions) {}
}
