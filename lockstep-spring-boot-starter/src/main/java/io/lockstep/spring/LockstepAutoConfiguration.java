package io.lockstep.spring;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.Registration;
import io.lockstep.Replica;
import io.lockstep.ReplicaMode;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.config.InstantiationAwareBeanPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.ConfigurableEnvironment;

/**
 * Configures a {@link Lockstep} node from the {@code lockstep.*} properties ({@link
 * LockstepProperties}), live configuration from its map ({@link LockstepLiveConfig}), and, when the
 * application has them, an Actuator health indicator ({@link LockstepHealthIndicator}) and the
 * replica's meters ({@link LockstepMeterBinder}). An application that defines its own {@link
 * Lockstep} bean keeps it; the rest is built on it.
 */
@AutoConfiguration
@EnableConfigurationProperties(LockstepProperties.class)
public class LockstepAutoConfiguration {

  /**
   * The node: built and started when the bean is created, after which it waits (up to {@code
   * lockstep.startup-timeout}) for the first listing, so beans created after it see the map; closed
   * when the context closes.
   */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public Lockstep lockstep(LockstepProperties properties) {
    LockstepBuilder b =
        Lockstep.builder()
            .backend(properties.backend())
            .keyPrefix(properties.keyPrefix())
            .instanceId(properties.instanceId())
            .advertiseUrl(properties.advertiseUrl())
            .operationTimeout(properties.operationTimeout())
            .mode(properties.mode())
            .peerSecret(properties.peerSecret());
    if (properties.listen().port() >= 0) {
      b.listen(properties.listen().address(), properties.listen().port());
    }
    Lockstep node = b.build();
    try {
      awaitReady(node, properties.startupTimeout());
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
    return node;
  }

  static void awaitReady(Lockstep node, Duration timeout) {
    Replica replica = node.map().replica();
    if (timeout.isZero() || replica.isReady()) {
      return;
    }
    CountDownLatch ready = new CountDownLatch(1);
    try (Registration r =
        replica.addStateListener(
            (from, to) -> {
              if (replica.isReady()) {
                ready.countDown();
              }
            })) {
      if (!replica.isReady() && !ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            "lockstep: the node is not ready (first listing not applied) after "
                + timeout
                + ": state="
                + replica.state()
                + ", backend="
                + ReplicaHealth.backend(node)
                + ", keyPrefix="
                + node.config().keyPrefix()
                + " (lockstep.startup-timeout; 0 does not wait)");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("lockstep: interrupted waiting for the first listing", e);
    }
  }

  /** Live configuration from the map {@code lockstep.config.map}; full mode only. */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnProperty(name = "lockstep.config.enabled", matchIfMissing = true)
  public LockstepLiveConfig lockstepLiveConfig(
      Lockstep node,
      LockstepProperties properties,
      ConfigurableEnvironment environment,
      ApplicationContext context) {
    if (node.config().mode() != ReplicaMode.FULL) {
      throw new IllegalStateException(
          "lockstep: live configuration needs lockstep.mode=full (every key in memory), was "
              + node.config().mode()
              + "; set lockstep.config.enabled=false to run in near mode");
    }
    return new LockstepLiveConfig(node, properties.config().map(), environment, context);
  }

  /**
   * Creates {@link #lockstepLiveConfig} before any other bean is instantiated (see {@link
   * LockstepEarlyInit}), so {@code @Value} sees the map's keys in every bean.
   */
  @Bean
  @ConditionalOnProperty(name = "lockstep.config.enabled", matchIfMissing = true)
  static InstantiationAwareBeanPostProcessor lockstepEarlyInit() {
    return new LockstepEarlyInit();
  }

  /** The health indicator, when Spring Boot's health support is on the class path. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
  static class HealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "lockstepHealthIndicator")
    LockstepHealthIndicator lockstepHealthIndicator(Lockstep node) {
      return new LockstepHealthIndicator(node);
    }
  }

  /** The health indicator on Spring Boot 3 (its health API, before Boot 4 moved it). */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.actuate.health.AbstractHealthIndicator")
  @ConditionalOnMissingClass("org.springframework.boot.health.contributor.HealthIndicator")
  static class Boot3HealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "lockstepHealthIndicator")
    LockstepBoot3HealthIndicator lockstepHealthIndicator(Lockstep node) {
      return new LockstepBoot3HealthIndicator(node);
    }
  }

  /** The replica's meters, when Micrometer is on the class path. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterBinder.class)
  static class MetricsConfiguration {
    @Bean
    @ConditionalOnMissingBean
    LockstepMeterBinder lockstepMeterBinder(Lockstep node) {
      return new LockstepMeterBinder(node);
    }
  }
}
