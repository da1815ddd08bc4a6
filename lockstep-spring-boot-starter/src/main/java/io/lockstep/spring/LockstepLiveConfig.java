package io.lockstep.spring;

import io.lockstep.ChangeEvent;
import io.lockstep.ChangeListener;
import io.lockstep.Codec;
import io.lockstep.Lockstep;
import io.lockstep.Registration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.context.properties.ConfigurationPropertiesBean;
import org.springframework.boot.context.properties.bind.BindMethod;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.context.ApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MutablePropertySources;

/**
 * Live configuration: puts a {@link LockstepPropertySource} at the head of the environment when it
 * is created, and, after every revision that changes keys of the map, rebinds in place the {@code
 * ConfigurationProperties} beans whose prefix covers a changed key, then publishes a {@link
 * LockstepConfigChangedEvent}.
 *
 * <h2>Rebinding</h2>
 *
 * <ul>
 *   <li>JavaBean-style beans (setters) are rebound on the same instance with {@link
 *       Bindable#ofInstance}: no bean is recreated, and whoever holds the bean sees the new values.
 *       The change is first bound to a fresh instance of the bean's class: when that fails (say
 *       {@code abc} for an {@code int}), the bean is left untouched, the failure is logged and
 *       reported in the event, and replication goes on.
 *   <li>A removed key leaves the property's current value (binding sets what is there; it does not
 *       reset what is gone), as Spring Cloud's rebinding does.
 *   <li>Constructor-bound beans (records, {@code final} fields) are immutable: they are not
 *       rebound; the event names them under {@link LockstepConfigChangedEvent#failedBeans()}. Read
 *       the {@link org.springframework.core.env.Environment} for those keys, or make the class a
 *       JavaBean.
 * </ul>
 *
 * <p>The rebinding runs on a thread of its own ({@code lockstep-config}), never on the replication
 * thread, one revision at a time, in revision order. Changes applied while the context is still
 * being built publish no event: once every singleton exists, the beans covering any key of the map
 * are rebound once. Thread safe.
 */
public final class LockstepLiveConfig implements SmartInitializingSingleton, DisposableBean {
  private static final System.Logger LOG = System.getLogger(LockstepLiveConfig.class.getName());

  private final ApplicationContext context;
  private final ConfigurableEnvironment environment;
  private final LockstepPropertySource source;
  private final ExecutorService executor;
  private final Registration registration;
  private volatile boolean started;

  /**
   * Adds the property source for {@code mapName} to the head of {@code environment} (highest
   * precedence) and starts following the map.
   */
  public LockstepLiveConfig(
      Lockstep node, String mapName, ConfigurableEnvironment environment, ApplicationContext ctx) {
    this.context = ctx;
    this.environment = environment;
    // opens the typed map users write through, and checks the name as core does (letters, digits,
    // ._-, not starting with _): a bad lockstep.config.map fails the context at start. Its store
    // takes each change before the listener below hears of it (listeners run in the order they
    // were added, and the typed map's was added when it opened), so a rebinding reads the values
    // of the revision it was told of.
    this.source = new LockstepPropertySource(node.map(mapName, Codec.string()));
    MutablePropertySources sources = environment.getPropertySources();
    if (sources.contains(LockstepPropertySource.NAME)) {
      sources.replace(LockstepPropertySource.NAME, source);
    } else {
      sources.addFirst(source);
    }
    this.executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "lockstep-config");
              t.setDaemon(true);
              return t;
            });
    String prefix = source.keyPrefix();
    this.registration =
        node.map()
            .addListener(
                new ChangeListener() {
                  @Override
                  public void onChange(ChangeEvent event) {
                    onRevision(event.revision(), List.of(event));
                  }

                  @Override
                  public void onRevision(long revision, List<ChangeEvent> events) {
                    Set<String> keys = new LinkedHashSet<>();
                    for (ChangeEvent e : events) {
                      if (e.key().startsWith(prefix) && e.key().length() > prefix.length()) {
                        keys.add(e.key().substring(prefix.length()));
                      }
                    }
                    if (!keys.isEmpty()) {
                      try {
                        executor.execute(() -> changed(keys, revision));
                      } catch (RejectedExecutionException closing) {
                        // the context is closing: nothing left to rebind
                      }
                    }
                  }
                });
  }

  /** The property source this puts in the environment. */
  public LockstepPropertySource propertySource() {
    return source;
  }

  /**
   * Once every singleton exists: rebinds the beans that cover a key of the map, for those created
   * before the property source was in the environment.
   */
  @Override
  public void afterSingletonsInstantiated() {
    started = true; // before reading the keys: a change skipped before this is among them
    Set<String> keys = Set.of(source.getPropertyNames());
    if (!keys.isEmpty()) {
      rebind(keys, new LinkedHashSet<>(), new LinkedHashMap<>());
    }
  }

  private void changed(Set<String> keys, long revision) {
    if (!started) {
      // the context is still being built (beans must not be looked up from this thread now);
      // afterSingletonsInstantiated rebinds with every key of the map once it is built
      return;
    }
    try {
      Set<String> rebound = new LinkedHashSet<>();
      Map<String, String> failed = new LinkedHashMap<>();
      rebind(keys, rebound, failed);
      context.publishEvent(new LockstepConfigChangedEvent(this, keys, revision, rebound, failed));
    } catch (RuntimeException e) {
      LOG.log(
          System.Logger.Level.WARNING, "live config: revision " + revision + " keys " + keys, e);
    }
  }

  /** Rebinds the beans whose prefix covers one of {@code keys}; package private for tests. */
  void rebind(Set<String> keys, Set<String> rebound, Map<String, String> failed) {
    Binder binder = Binder.get(environment);
    for (Map.Entry<String, ConfigurationPropertiesBean> e :
        ConfigurationPropertiesBean.getAll(context).entrySet()) {
      ConfigurationPropertiesBean bean = e.getValue();
      String prefix = bean.getAnnotation().prefix();
      if (!covers(prefix, keys)) {
        continue;
      }
      String name = e.getKey();
      if (bean.asBindTarget().getBindMethod() != BindMethod.JAVA_BEAN) {
        failed.put(name, "constructor-bound (immutable): not rebound");
        LOG.log(
            System.Logger.Level.INFO,
            "live config: bean '" + name + "' is constructor-bound; keys " + keys + " not rebound");
        continue;
      }
      Object instance = bean.getInstance();
      try {
        // a dry run first: a value that does not bind must leave the bean as it is
        binder.bind(prefix, Bindable.of(instance.getClass()));
        binder.bind(prefix, Bindable.ofInstance(instance));
        rebound.add(name);
      } catch (RuntimeException ex) {
        String reason = rootMessage(ex);
        failed.put(name, reason);
        LOG.log(
            System.Logger.Level.WARNING,
            "live config: bean '" + name + "' not rebound for keys " + keys + ": " + reason);
      }
    }
  }

  static boolean covers(String prefix, Set<String> keys) {
    ConfigurationPropertyName p = ConfigurationPropertyName.of(prefix);
    for (String key : keys) {
      ConfigurationPropertyName k = ConfigurationPropertyName.adapt(key, '.');
      if (p.equals(k) || p.isAncestorOf(k)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable t) {
    StringBuilder sb = new StringBuilder(String.valueOf(t.getMessage()));
    Throwable c = t.getCause();
    while (c != null && c != t) {
      sb.append(": ").append(c.getMessage());
      t = c;
      c = c.getCause();
    }
    return sb.toString();
  }

  @Override
  public void destroy() throws InterruptedException {
    registration.close();
    executor.shutdown();
    if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
      executor.shutdownNow();
    }
    environment.getPropertySources().remove(LockstepPropertySource.NAME);
  }
}
