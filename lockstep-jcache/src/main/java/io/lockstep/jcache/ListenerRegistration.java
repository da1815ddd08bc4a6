package io.lockstep.jcache;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.Factory;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.CacheEntryEventFilter;
import javax.cache.event.CacheEntryExpiredListener;
import javax.cache.event.CacheEntryListener;
import javax.cache.event.CacheEntryListenerException;
import javax.cache.event.CacheEntryRemovedListener;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.event.EventType;

/** One registered listener of a cache: the listener and filter made from its configuration. */
final class ListenerRegistration<K, V> {
  private static final System.Logger LOG = System.getLogger(ListenerRegistration.class.getName());

  final CacheEntryListenerConfiguration<K, V> configuration;
  private final CacheEntryListener<? super K, ? super V> listener;
  private final CacheEntryEventFilter<? super K, ? super V> filter;

  ListenerRegistration(CacheEntryListenerConfiguration<K, V> configuration) {
    this.configuration = configuration;
    this.listener = configuration.getCacheEntryListenerFactory().create();
    Factory<CacheEntryEventFilter<? super K, ? super V>> ff =
        configuration.getCacheEntryEventFilterFactory();
    this.filter = ff == null ? null : ff.create();
  }

  private boolean accepts(EventType type) {
    return switch (type) {
      case CREATED -> listener instanceof CacheEntryCreatedListener;
      case UPDATED -> listener instanceof CacheEntryUpdatedListener;
      case REMOVED -> listener instanceof CacheEntryRemovedListener;
      case EXPIRED -> listener instanceof CacheEntryExpiredListener;
    };
  }

  /**
   * Delivers the events this listener takes, in order, grouped into runs of one type. A synchronous
   * listener's failure is thrown (as a {@link CacheEntryListenerException}); an asynchronous one's
   * is logged.
   */
  @SuppressWarnings("unchecked")
  void deliver(List<EntryEvent<K, V>> events) {
    List<CacheEntryEvent<? extends K, ? extends V>> run = new ArrayList<>();
    EventType runType = null;
    for (EntryEvent<K, V> e : events) {
      if (!accepts(e.getEventType())) {
        continue;
      }
      EntryEvent<K, V> event = e.withOldValue(configuration.isOldValueRequired());
      if (filter != null && !evaluate(event)) {
        continue;
      }
      if (runType != null && runType != event.getEventType()) {
        call(runType, run);
        run = new ArrayList<>();
      }
      runType = event.getEventType();
      run.add(event);
    }
    if (runType != null) {
      call(runType, run);
    }
  }

  private boolean evaluate(EntryEvent<K, V> event) {
    try {
      return filter.evaluate(event);
    } catch (RuntimeException ex) {
      return fail(ex);
    }
  }

  @SuppressWarnings("unchecked")
  private void call(EventType type, List<CacheEntryEvent<? extends K, ? extends V>> run) {
    Iterable<CacheEntryEvent<? extends K, ? extends V>> events = List.copyOf(run);
    try {
      switch (type) {
        case CREATED -> ((CacheEntryCreatedListener<K, V>) listener).onCreated(events);
        case UPDATED -> ((CacheEntryUpdatedListener<K, V>) listener).onUpdated(events);
        case REMOVED -> ((CacheEntryRemovedListener<K, V>) listener).onRemoved(events);
        case EXPIRED -> ((CacheEntryExpiredListener<K, V>) listener).onExpired(events);
      }
    } catch (RuntimeException ex) {
      fail(ex);
    }
  }

  private boolean fail(RuntimeException ex) {
    if (configuration.isSynchronous()) {
      throw ex instanceof CacheEntryListenerException c ? c : new CacheEntryListenerException(ex);
    }
    LOG.log(System.Logger.Level.WARNING, "an asynchronous cache entry listener failed", ex);
    return false;
  }

  void close() {
    closeQuietly(listener);
    closeQuietly(filter);
  }

  static void closeQuietly(Object o) {
    if (o instanceof Closeable c) {
      try {
        c.close();
      } catch (IOException | RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "closing " + o + " failed", e);
      }
    }
  }
}
