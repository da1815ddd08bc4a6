package io.lockstep.internal;

import io.lockstep.Member;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where a loading group reads the live members from. Implementations: {@link PollingMemberSource}
 * (reads the node's membership periodically) and {@link StaticMemberSource} (a fixed list).
 */
public interface MemberSource extends AutoCloseable {

  /** The latest known members (never empty once started: at least this instance). */
  List<Member> current();

  /** Calls {@code listener} with each new list (not with the current one). */
  void onChange(Consumer<List<Member>> listener);

  @Override
  void close();
}
