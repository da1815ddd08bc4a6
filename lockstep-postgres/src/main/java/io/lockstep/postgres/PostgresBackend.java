package io.lockstep.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.lockstep.BackendUnavailableException;
import io.lockstep.IncrementResult;
import io.lockstep.Versioned;
import io.lockstep.WriteResult;
import io.lockstep.spi.Backend;
import io.lockstep.spi.BackendContext;
import io.lockstep.spi.BackendSupport;
import io.lockstep.spi.BackendUri;
import io.lockstep.spi.CounterStore;
import io.lockstep.spi.Feed;
import io.lockstep.spi.FeedListener;
import io.lockstep.spi.ListingProgress;
import io.lockstep.spi.Membership;
import io.lockstep.spi.RequestIds;
import io.lockstep.spi.RevisionModel;
import io.lockstep.spi.Snapshot;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The PostgreSQL backend: one map in one PostgreSQL database (13 or later; tested with 15), through
 * PgJDBC and a HikariCP pool. Create it with a URI (the {@code postgresql} and {@code postgres}
 * schemes are found by {@link PostgresBackendProvider}).
 *
 * <h2>URI</h2>
 *
 * <p>{@code postgresql://user[:password]@host[:port][/database][?key=value&...]} (port 5432,
 * database {@code postgres} and user {@code postgres} when omitted). Parameters, all optional; any
 * other is refused:
 *
 * <ul>
 *   <li>{@code mirror}: an existing table ({@code student}, {@code app.student}) to mirror by its
 *       one-column primary key instead of Lockstep's own key-value table.
 *   <li>{@code table}: the name of Lockstep's key-value table in {@code schema}; default: the key
 *       prefix (at most 63 bytes).
 *   <li>{@code schema}: the schema of Lockstep's tables; default {@code lockstep}.
 *   <li>{@code timeout}: the bound of connecting and of one statement; default: the node's
 *       operation timeout.
 *   <li>{@code pool_size}: connections (and threads) for operations, 1 to 100; default 4. Each
 *       backend also holds one connection for {@code LISTEN}.
 *   <li>{@code poll_interval}: how often feeds read the change log when no doorbell rang; default
 *       1s.
 *   <li>{@code log_retention}: how many changes of the namespace the change log keeps; a replica
 *       further behind relists; default 10000.
 *   <li>{@code compact_interval}: how often this instance compacts the log; default 30s.
 *   <li>{@code member_ttl}: how long a membership record outlives its instance, at least 1s;
 *       default 10s; live instances renew it every third of that.
 *   <li>{@code idempotency_ttl}: how long a request id is remembered; default 24h.
 *   <li>{@code user}, {@code password}, {@code password_file}: the credentials (also in the URI's
 *       user info).
 * </ul>
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>Every committed change to the table, by any writer (psql, other services, Lockstep), gets a
 *       revision from a deferred trigger ({@link PostgresSchema}); revisions of a namespace are 1,
 *       2, 3, ... in commit order ({@link RevisionModel#CONTIGUOUS}): a transaction takes its
 *       revisions under the namespace's {@code heads} row lock, held until it has committed, and a
 *       rolled back transaction returns them. A reader that asks for revisions above the last it
 *       saw therefore never misses one that commits later.
 *   <li>{@link #snapshot()} reads the table, the mod revisions and the head in one {@code
 *       REPEATABLE READ} transaction.
 *   <li>{@link #watch} reads the change log from the requested revision, then again whenever a
 *       {@code NOTIFY} rings (a doorbell only), every {@code poll_interval}, and after the {@code
 *       LISTEN} connection reconnected; it reports {@code onCompacted} when compaction removed a
 *       revision it needs and {@code onError} when a read fails.
 *   <li>Writes lock the row, compare the key's mod revision, write and run the trigger in one
 *       transaction; a lost answer to a commit is reported as {@code mayHaveCommitted}.
 * </ul>
 *
 * <p>Non-guarantees: a mirrored table's values are JSON as PostgreSQL renders the row ({@code
 * row_to_json}); changes made with the triggers disabled ({@code session_replication_role =
 * replica}) are not seen. Thread safe; {@link #close()} closes the pool and stops the feeds.
 */
public final class PostgresBackend implements Backend {
  private static final System.Logger LOG = System.getLogger(PostgresBackend.class.getName());
  static final int BATCH = 1000;

  private final PostgresSettings settings;
  private final String ns;
  private final String s; // quoted schema
  private final HikariDataSource pool;
  private final ExecutorService io;
  private final ScheduledThreadPoolExecutor housekeeping;
  private final PostgresDoorbell doorbell;
  private final PostgresMembership membership;
  private final Set<PostgresFeed> feeds = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object initLock = new Object();
  private @Nullable Source source; // guarded by initLock; null until the schema is in place

  private PostgresBackend(PostgresSettings settings, BackendContext context) {
    this.settings = settings;
    this.ns = context.keyPrefix();
    this.s = PostgresSchema.identifier(settings.schema());
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(settings.jdbcUrl());
    hc.setUsername(settings.user());
    if (settings.password() != null) {
      hc.setPassword(settings.password());
    }
    hc.setPoolName("lockstep-postgres-" + context.instanceId());
    hc.setMaximumPoolSize(settings.poolSize());
    hc.setMinimumIdle(1);
    hc.setInitializationFailTimeout(-1); // connect on first use: the database may be down now
    hc.setConnectionTimeout(Math.max(250, settings.timeout().toMillis()));
    hc.setValidationTimeout(Math.max(250, Math.min(settings.timeout().toMillis(), 5000)));
    hc.setAutoCommit(true);
    connectionProperties(settings, context.instanceId())
        .forEach((k, v) -> hc.addDataSourceProperty((String) k, v));
    this.pool = new HikariDataSource(hc);
    this.io =
        Executors.newFixedThreadPool(
            settings.poolSize(),
            BackendSupport.daemonThreads("lockstep-postgres-" + context.instanceId() + "-io"));
    this.housekeeping = BackendSupport.housekeeping("lockstep-postgres-" + context.instanceId());
    this.doorbell = new PostgresDoorbell(this, settings, context.instanceId());
    this.membership = new PostgresMembership(this, settings.memberTtl());
    long compact = settings.compactInterval().toMillis();
    housekeeping.scheduleWithFixedDelay(
        this::compactQuietly, compact, compact, TimeUnit.MILLISECONDS);
  }

  /**
   * Creates a backend; it connects on first use.
   *
   * @throws IllegalArgumentException when the URI is not a valid PostgreSQL URI
   */
  public static PostgresBackend create(BackendUri uri, BackendContext context) {
    return new PostgresBackend(PostgresSettings.parse(uri, context), context);
  }

  static Properties connectionProperties(PostgresSettings settings, String instanceId) {
    Properties p = new Properties();
    long seconds = Math.max(1, (settings.timeout().toMillis() + 999) / 1000);
    p.setProperty("connectTimeout", Long.toString(seconds));
    p.setProperty("socketTimeout", Long.toString(Math.max(5, 2 * seconds)));
    p.setProperty("tcpKeepAlive", "true");
    p.setProperty("ApplicationName", "lockstep-" + instanceId);
    return p;
  }

  @Override
  public RevisionModel revisionModel() {
    return RevisionModel.CONTIGUOUS;
  }

  String namespace() {
    return ns;
  }

  String schema() {
    return s;
  }

  String address() {
    return settings.address();
  }

  // ---------------------------------------------------------------------------------------------
  // Running statements
  // ---------------------------------------------------------------------------------------------

  /** Work on one pooled connection. */
  interface Work<T> {
    T run(Connection c, Source src) throws SQLException;
  }

  /**
   * Runs {@code work} on a pooled connection on an I/O thread, after the schema is in place.
   * Failures become the SPI's exceptions; {@code write} says whether a lost answer may hide a
   * commit (a {@link Tx} sets it once it sends COMMIT).
   */
  <T> CompletableFuture<T> call(String what, Work<T> work) {
    CompletableFuture<T> out = new CompletableFuture<>();
    if (closed.get()) {
      out.completeExceptionally(
          new BackendUnavailableException("postgres backend closed: " + what, null));
      return out;
    }
    try {
      io.execute(
          () -> {
            Committing committing = new Committing();
            try (Connection c = pool.getConnection()) {
              Source src = source(c);
              COMMITTING.set(committing);
              out.complete(work.run(c, src));
            } catch (Throwable t) {
              out.completeExceptionally(translate(t, what, committing.sent));
            } finally {
              COMMITTING.remove();
            }
          });
    } catch (RejectedExecutionException e) {
      out.completeExceptionally(
          new BackendUnavailableException("postgres backend closed: " + what, e));
    }
    return out;
  }

  /** Whether the current task sent a COMMIT whose answer may be lost. */
  static final class Committing {
    boolean sent;
  }

  private static final ThreadLocal<Committing> COMMITTING = new ThreadLocal<>();

  /** Commits {@code c}, noting for failure translation that a commit was sent. */
  static void commit(Connection c) throws SQLException {
    Committing k = COMMITTING.get();
    if (k != null) {
      k.sent = true;
    }
    c.commit();
  }

  RuntimeException translate(Throwable t, String what, boolean mayHaveCommitted) {
    Throwable u = BackendSupport.unwrap(t);
    if (u instanceof RuntimeException r
        && (u instanceof BackendUnavailableException
            || u instanceof IllegalArgumentException
            || u instanceof io.lockstep.RequestIdReusedException)) {
      return r;
    }
    if (u instanceof SQLException e && e.getSQLState() != null) {
      String state = e.getSQLState();
      // Data exceptions (22) and integrity constraint violations (23: NOT NULL, CHECK, UNIQUE,
      // FOREIGN KEY of a mirrored table) are the written value's fault: a 4xx, not an outage.
      if (state.startsWith("22") || state.startsWith("23")) {
        return new IllegalArgumentException(
            what + " refused by PostgreSQL: " + BackendSupport.detail(e), e);
      }
    }
    return new BackendUnavailableException(
        what + " on postgres " + settings.address() + " failed: " + BackendSupport.detail(u),
        u,
        mayHaveCommitted);
  }

  /** Creates the schema (once per backend; again after a failure) and returns the table shape. */
  private Source source(Connection c) throws SQLException {
    synchronized (initLock) {
      if (source != null) {
        return source;
      }
      boolean auto = c.getAutoCommit();
      c.setAutoCommit(false);
      try {
        PostgresSchema.createShared(c, s);
        Source src;
        if (settings.mirror() == null) {
          PostgresSchema.createKvTable(c, s, settings.table(), ns);
          src = Source.kv(s + "." + PostgresSchema.identifier(settings.table()));
        } else {
          src = Source.mirror(c, settings.mirror());
          PostgresSchema.installMirror(c, s, src.table(), src.pk(), ns);
        }
        try (PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO " + s + ".heads (ns) VALUES (?) ON CONFLICT DO NOTHING")) {
          ps.setString(1, ns);
          ps.executeUpdate();
        }
        c.commit();
        source = src;
        return src;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(auto);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Listing and strong reads
  // ---------------------------------------------------------------------------------------------

  @Override
  public CompletableFuture<Snapshot> snapshot() {
    return snapshot(ListingProgress.NONE);
  }

  /**
   * One query in one {@code REPEATABLE READ} snapshot, fetched {@link #BATCH} rows at a time; each
   * batch is reported to {@code progress} as a page, and a cancelled listing stops at the next one.
   */
  @Override
  public CompletableFuture<Snapshot> snapshot(ListingProgress progress) {
    return call(
        "listing of " + ns,
        (c, src) -> {
          c.setAutoCommit(false);
          c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
          c.setReadOnly(true);
          try {
            Head h = head(c);
            List<Versioned> entries = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(src.listSql(s))) {
              ps.setString(1, ns);
              ps.setFetchSize(BATCH);
              try (ResultSet rs = ps.executeQuery()) {
                int inPage = 0;
                while (rs.next()) {
                  entries.add(
                      new Versioned(
                          rs.getString(1), rs.getBytes(2), rs.getString(3), rs.getLong(4)));
                  if (++inPage == BATCH) {
                    progress.page(inPage);
                    inPage = 0;
                    if (progress.isCancelled()) {
                      throw new java.util.concurrent.CancellationException(
                          "listing of " + ns + " cancelled after " + entries.size() + " entries");
                    }
                  }
                }
                progress.page(inPage);
              }
            }
            c.commit();
            return new Snapshot(h.rev, entries, h.epoch);
          } finally {
            restore(c);
          }
        });
  }

  @Override
  public CompletableFuture<StrongRead> get(String key) {
    return call(
        "strong read of '" + key + "'",
        (c, src) -> {
          boolean accepted = src.acceptsKey(c, key);
          c.setAutoCommit(false);
          c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
          c.setReadOnly(true);
          try {
            Head h = head(c);
            Versioned v = null;
            if (accepted) {
              try (PreparedStatement ps = c.prepareStatement(src.getSql(s))) {
                ps.setString(1, ns);
                ps.setString(2, key);
                ps.setString(3, key);
                try (ResultSet rs = ps.executeQuery()) {
                  if (rs.next()) {
                    v = new Versioned(key, rs.getBytes(1), rs.getString(2), rs.getLong(3));
                  }
                }
              }
            }
            c.commit();
            return new StrongRead(v, h.rev);
          } finally {
            restore(c);
          }
        });
  }

  record Head(long rev, long compacted, String epoch) {}

  /** The namespace's head row, in the caller's transaction. */
  Head head(Connection c) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT rev, compacted, epoch FROM " + s + ".heads WHERE ns = ?")) {
      ps.setString(1, ns);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return new Head(0, 0, Snapshot.NO_EPOCH);
        }
        return new Head(rs.getLong(1), rs.getLong(2), rs.getString(3));
      }
    }
  }

  /**
   * Ends what a task left open and puts the connection back to autocommit; quiet, since a broken
   * connection is the pool's to evict and the task's own failure is the one to report.
   */
  static void restore(Connection c) {
    try {
      if (!c.getAutoCommit()) {
        c.rollback();
      }
      c.setAutoCommit(true);
      c.setReadOnly(false);
      c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
    } catch (SQLException e) {
      LOG.log(Level.DEBUG, "resetting a connection failed: {0}", e.getMessage());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes
  // ---------------------------------------------------------------------------------------------

  @Override
  public CompletableFuture<WriteResult> put(
      String key, byte[] value, String contentType, long expectedRevision) {
    return put(key, value, contentType, expectedRevision, null);
  }

  @Override
  public CompletableFuture<WriteResult> delete(String key, long expectedRevision) {
    return delete(key, expectedRevision, null);
  }

  @Override
  public CompletableFuture<WriteResult> put(
      String key,
      byte[] value,
      String contentType,
      long expectedRevision,
      @Nullable String requestId) {
    BackendSupport.checkExpectedRevision(expectedRevision);
    String fingerprint =
        requestId == null ? null : RequestIds.put(key, value, contentType, expectedRevision);
    return write(
        "put of '" + key + "'", key, value, contentType, expectedRevision, requestId, fingerprint);
  }

  @Override
  public CompletableFuture<WriteResult> delete(
      String key, long expectedRevision, @Nullable String requestId) {
    BackendSupport.checkExpectedRevision(expectedRevision);
    String fingerprint = requestId == null ? null : RequestIds.delete(key, expectedRevision);
    return write(
        "delete of '" + key + "'", key, null, null, expectedRevision, requestId, fingerprint);
  }

  private CompletableFuture<WriteResult> write(
      String what,
      String key,
      byte @Nullable [] value,
      @Nullable String contentType,
      long expected,
      @Nullable String requestId,
      @Nullable String fingerprint) {
    return call(
        what,
        (c, src) -> {
          boolean accepted = src.acceptsKey(c, key); // outside the transaction: it may fail
          c.setAutoCommit(false);
          try {
            String digest = requestId == null ? null : RequestIds.digest(requestId);
            if (digest != null) {
              WriteResult earlier = claimRequest(c, digest, fingerprint, what);
              if (earlier != null) {
                c.rollback();
                return earlier;
              }
            }
            WriteResult r = writeLocked(c, src, accepted, key, value, contentType, expected, what);
            if (digest != null) {
              rememberAnswer(c, digest, r.status().name(), r.revision());
            }
            commit(c);
            return r;
          } finally {
            restore(c);
          }
        });
  }

  private WriteResult writeLocked(
      Connection c,
      Source src,
      boolean accepted,
      String key,
      byte @Nullable [] value,
      @Nullable String contentType,
      long expected,
      String what)
      throws SQLException {
    if (!accepted) {
      if (value != null) {
        throw new IllegalArgumentException(
            what + ": the key is not the text form of a value of " + src.describePk());
      }
      return expected > 0 ? WriteResult.conflict(0, null) : WriteResult.notFound(head(c).rev);
    }
    boolean exists;
    try (PreparedStatement ps = c.prepareStatement(src.lockSql())) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        exists = rs.next();
      }
    }
    long modRev = exists ? modRevision(c, key) : 0;
    if (value == null) {
      if (!exists) {
        return expected > 0 ? WriteResult.conflict(0, null) : WriteResult.notFound(head(c).rev);
      }
      if (expected != ANY_REVISION && expected != modRev) {
        return WriteResult.conflict(modRev, null);
      }
      try (PreparedStatement ps = c.prepareStatement(src.deleteSql())) {
        ps.setString(1, key);
        ps.executeUpdate();
      }
    } else {
      if (expected != ANY_REVISION && expected != modRev) {
        return WriteResult.conflict(modRev, null);
      }
      int n;
      try (PreparedStatement ps = c.prepareStatement(src.upsertSql(expected == 0))) {
        src.bindUpsert(ps, key, value, contentType);
        n = ps.executeUpdate();
      }
      if (n == 0) { // expected 0, and another writer inserted the key meanwhile
        return WriteResult.conflict(modRevision(c, key), null);
      }
    }
    try (Statement st = c.createStatement()) {
      st.execute("SET CONSTRAINTS ALL IMMEDIATE"); // runs the capture trigger now
    }
    return WriteResult.applied(head(c).rev);
  }

  private long modRevision(Connection c, String key) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT mod_rev FROM " + s + ".entries WHERE ns = ? AND key = ?")) {
      ps.setString(1, ns);
      ps.setString(2, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  /**
   * Claims a request id for this transaction: null when it is new (or expired), else the answer
   * remembered for it (as a replay); fails when it was used for another request. A second claim of
   * the same id waits on the first's row until that commits.
   */
  private @Nullable WriteResult claimRequest(
      Connection c, String digest, String fingerprint, String what) throws SQLException {
    Remembered r = claim(c, digest, fingerprint);
    if (r == null) {
      return null;
    }
    if (!r.fingerprint.equals(fingerprint)) {
      throw RequestIds.reused(what);
    }
    WriteResult.Status status = WriteResult.Status.valueOf(r.status);
    return new WriteResult(status, r.rev, null).asReplay();
  }

  record Remembered(String fingerprint, String status, long rev) {}

  private @Nullable Remembered claim(Connection c, String digest, String fingerprint)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO "
                + s
                + ".requests AS r (ns, digest, fingerprint, status, expires_at)"
                + " VALUES (?, ?, ?, 'PENDING', now() + ? * interval '1 millisecond')"
                + " ON CONFLICT (ns, digest) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
                + " status = 'PENDING', rev = 0, expires_at = EXCLUDED.expires_at"
                + " WHERE r.expires_at < now() RETURNING 1")) {
      ps.setString(1, ns);
      ps.setString(2, digest);
      ps.setString(3, fingerprint);
      ps.setLong(4, settings.idempotencyTtl().toMillis());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          return null;
        }
      }
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT fingerprint, status, rev FROM "
                + s
                + ".requests WHERE ns = ? AND digest = ?")) {
      ps.setString(1, ns);
      ps.setString(2, digest);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("request id row vanished", "40001");
        }
        return new Remembered(rs.getString(1), rs.getString(2), rs.getLong(3));
      }
    }
  }

  private void rememberAnswer(Connection c, String digest, String status, long rev)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE " + s + ".requests SET status = ?, rev = ? WHERE ns = ? AND digest = ?")) {
      ps.setString(1, status);
      ps.setLong(2, rev);
      ps.setString(3, ns);
      ps.setString(4, digest);
      ps.executeUpdate();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Watching
  // ---------------------------------------------------------------------------------------------

  @Override
  public Feed watch(long fromRevision, FeedListener listener) {
    BackendSupport.checkFromRevision(fromRevision);
    PostgresFeed feed = new PostgresFeed(this, fromRevision, listener);
    if (closed.get()) {
      feed.fail(new BackendUnavailableException("postgres backend closed", null));
      return feed;
    }
    feeds.add(feed);
    doorbell.start();
    feed.wake();
    return feed;
  }

  /** Rings every feed: read the log now. */
  void wakeFeeds() {
    for (PostgresFeed f : feeds) {
      f.wake();
    }
  }

  void forget(PostgresFeed feed) {
    feeds.remove(feed);
  }

  /** The changes from {@code from} on (at most {@link #BATCH}) and the head, in one snapshot. */
  record LogRead(Head head, List<Row> rows) {}

  record Row(long rev, String key, byte @Nullable [] value, @Nullable String contentType) {}

  LogRead readLog(Connection c, long from) throws SQLException {
    c.setAutoCommit(false);
    c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
    c.setReadOnly(true);
    try {
      Head h = head(c);
      List<Row> rows = new ArrayList<>();
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT rev, key, value, content_type FROM "
                  + s
                  + ".changes WHERE ns = ? AND rev >= ? ORDER BY rev LIMIT "
                  + BATCH)) {
        ps.setString(1, ns);
        ps.setLong(2, from);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            rows.add(new Row(rs.getLong(1), rs.getString(2), rs.getBytes(3), rs.getString(4)));
          }
        }
      }
      c.commit();
      return new LogRead(h, rows);
    } finally {
      restore(c);
    }
  }

  ExecutorService io() {
    return io;
  }

  ScheduledThreadPoolExecutor housekeeping() {
    return housekeeping;
  }

  HikariDataSource pool() {
    return pool;
  }

  // ---------------------------------------------------------------------------------------------
  // Compaction
  // ---------------------------------------------------------------------------------------------

  /**
   * Removes changes older than the newest {@code log_retention} from the log (marking the newest
   * removed revision in {@code heads.compacted}), expired request ids and long-expired membership
   * records.
   */
  CompletableFuture<Long> compact() {
    return call(
        "compaction of " + ns + "'s change log",
        (c, src) -> {
          c.setAutoCommit(false);
          try {
            long compacted;
            try (PreparedStatement ps =
                c.prepareStatement(
                    "UPDATE "
                        + s
                        + ".heads SET compacted = rev - ? WHERE ns = ? AND rev - ? > compacted"
                        + " RETURNING compacted")) {
              ps.setLong(1, settings.logRetention());
              ps.setString(2, ns);
              ps.setLong(3, settings.logRetention());
              try (ResultSet rs = ps.executeQuery()) {
                compacted = rs.next() ? rs.getLong(1) : -1;
              }
            }
            if (compacted > 0) {
              try (PreparedStatement ps =
                  c.prepareStatement("DELETE FROM " + s + ".changes WHERE ns = ? AND rev <= ?")) {
                ps.setString(1, ns);
                ps.setLong(2, compacted);
                ps.executeUpdate();
              }
            }
            try (PreparedStatement ps =
                c.prepareStatement(
                    "DELETE FROM " + s + ".requests WHERE ns = ? AND expires_at < now()")) {
              ps.setString(1, ns);
              ps.executeUpdate();
            }
            try (PreparedStatement ps =
                c.prepareStatement(
                    "DELETE FROM "
                        + s
                        + ".members WHERE ns = ? AND expires_at < now() - interval '1 minute'")) {
              ps.setString(1, ns);
              ps.executeUpdate();
            }
            c.commit();
            return compacted;
          } finally {
            restore(c);
          }
        });
  }

  private void compactQuietly() {
    compact()
        .whenComplete(
            (v, err) -> {
              if (err != null) {
                LOG.log(Level.DEBUG, "compaction failed: {0}", err.getMessage());
              }
            });
  }

  // ---------------------------------------------------------------------------------------------
  // Membership and counters
  // ---------------------------------------------------------------------------------------------

  @Override
  public Membership membership() {
    return membership;
  }

  @Override
  public CounterStore counters() {
    return counters;
  }

  private final CounterStore counters =
      new CounterStore() {
        @Override
        public CompletableFuture<Long> incrementAndGet(String name, long delta) {
          return call(
              "increment of counter '" + name + "'",
              (c, src) -> {
                Committing k = COMMITTING.get();
                if (k != null) {
                  k.sent = true; // one autocommit statement: sent is as good as committing
                }
                return increment(c, name, delta);
              });
        }

        @Override
        public CompletableFuture<IncrementResult> incrementAndGet(
            String name, long delta, @Nullable String requestId) {
          if (requestId == null) {
            return incrementAndGet(name, delta).thenApply(v -> new IncrementResult(v, false));
          }
          String what = "increment of counter '" + name + "'";
          String fingerprint = RequestIds.increment(name, delta);
          String digest = RequestIds.digest(requestId);
          return call(
              what,
              (c, src) -> {
                c.setAutoCommit(false);
                try {
                  Remembered r = claim(c, digest, fingerprint);
                  if (r != null) {
                    c.rollback();
                    if (!r.fingerprint.equals(fingerprint)) {
                      throw RequestIds.reused(what);
                    }
                    return new IncrementResult(r.rev, true);
                  }
                  long v = increment(c, name, delta);
                  rememberAnswer(c, digest, "INCREMENTED", v);
                  commit(c);
                  return new IncrementResult(v, false);
                } finally {
                  restore(c);
                }
              });
        }

        @Override
        public CompletableFuture<Long> get(String name) {
          return call(
              "read of counter '" + name + "'",
              (c, src) -> {
                try (PreparedStatement ps =
                    c.prepareStatement(
                        "SELECT value FROM " + s + ".counters WHERE ns = ? AND name = ?")) {
                  ps.setString(1, ns);
                  ps.setString(2, name);
                  try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getLong(1) : 0L;
                  }
                }
              });
        }
      };

  private long increment(Connection c, String name, long delta) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO "
                + s
                + ".counters AS k (ns, name, value) VALUES (?, ?, ?) ON CONFLICT (ns, name)"
                + " DO UPDATE SET value = k.value + EXCLUDED.value RETURNING k.value")) {
      ps.setString(1, ns);
      ps.setString(2, name);
      ps.setLong(3, delta);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle
  // ---------------------------------------------------------------------------------------------

  /** Deletes open registrations (bounded by the timeout), stops feeds, closes the pool. */
  @Override
  public void close() {
    if (closed.get()) {
      return;
    }
    membership.closeAll();
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    for (PostgresFeed f : List.copyOf(feeds)) {
      f.close();
    }
    doorbell.close();
    housekeeping.shutdownNow();
    io.shutdown();
    try {
      if (!io.awaitTermination(settings.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
        io.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      io.shutdownNow();
    }
    try {
      pool.close();
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "closing the pool failed", e);
    }
  }

  boolean isClosed() {
    return closed.get();
  }

  @Override
  public String toString() {
    return "PostgresBackend["
        + settings.address()
        + ", namespace="
        + ns
        + (settings.mirror() == null
            ? ", table=" + settings.table()
            : ", mirror=" + settings.mirror())
        + "]";
  }

  static byte[] utf8(String v) {
    return v.getBytes(StandardCharsets.UTF_8);
  }
}
