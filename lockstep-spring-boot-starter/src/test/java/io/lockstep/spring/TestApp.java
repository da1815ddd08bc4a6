package io.lockstep.spring;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;

/** The application the tests start: live config beans, a cached service, an event log. */
@SpringBootConfiguration
@EnableAutoConfiguration
@EnableCaching
@EnableConfigurationProperties({
  TestApp.Greeting.class,
  TestApp.Limits.class,
  TestApp.Frozen.class,
  TestApp.Stuck.class
})
public class TestApp {

  /** A JavaBean-style properties class: rebound in place. */
  @ConfigurationProperties("app.greeting")
  public static class Greeting {
    private volatile String text = "hello";
    private volatile int times = 1;

    public String getText() {
      return text;
    }

    public void setText(String text) {
      this.text = text;
    }

    public int getTimes() {
      return times;
    }

    public void setTimes(int times) {
      this.times = times;
    }
  }

  /** Another JavaBean, under a prefix of its own (the bad-value test breaks and mends it). */
  @ConfigurationProperties("app.limits")
  public static class Limits {
    private volatile int max = 10;

    public int getMax() {
      return max;
    }

    public void setMax(int max) {
      this.max = max;
    }
  }

  /**
   * A JavaBean whose setter blocks on {@link #gate} for the value {@code block}: a rebinding that
   * hangs (a slow setter, a lock held elsewhere). Static: the three contexts share it.
   */
  @ConfigurationProperties("app.stuck")
  public static class Stuck {
    static volatile CountDownLatch gate = new CountDownLatch(0);
    static final AtomicInteger blocked = new AtomicInteger();
    static final Set<String> threads = ConcurrentHashMap.newKeySet();
    private volatile String mode = "";

    public String getMode() {
      return mode;
    }

    public void setMode(String mode) {
      if ("block".equals(mode)) {
        threads.add(Thread.currentThread().getName());
        blocked.incrementAndGet();
        try {
          gate.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      this.mode = mode;
    }
  }

  /** A constructor-bound record: immutable, never rebound. */
  @ConfigurationProperties("app.frozen")
  public record Frozen(String text) {}

  /** A bean that reads a key with {@code @Value} when it is created. */
  public static class Initial {
    final String value;

    Initial(String value) {
      this.value = value;
    }
  }

  /** The slow service behind the cache. */
  public static class SlowService {
    private final AtomicInteger calls = new AtomicInteger();

    /** How many times a cached method ran (a method: the bean is a proxy). */
    public int calls() {
      return calls.get();
    }

    @Cacheable("greetings")
    public String greet(String name) {
      calls.incrementAndGet();
      return "hi " + name;
    }

    @Cacheable("greetings")
    public String nothing(String name) {
      calls.incrementAndGet();
      return null;
    }

    @CacheEvict("greetings")
    public void forget(String name) {}
  }

  /** Every live-config event this context published. */
  public static class Events implements ApplicationListener<LockstepConfigChangedEvent> {
    final List<LockstepConfigChangedEvent> seen = new CopyOnWriteArrayList<>();

    @Override
    public void onApplicationEvent(LockstepConfigChangedEvent event) {
      seen.add(event);
    }
  }

  @Bean
  Initial initial(@Value("${app.initial:none}") String value) {
    return new Initial(value);
  }

  @Bean
  SlowService slowService() {
    return new SlowService();
  }

  @Bean
  Events events() {
    return new Events();
  }
}
