package io.lockstep.spring;

import io.lockstep.Lockstep;
import org.springframework.beans.factory.BeanClassLoaderAware;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.CacheAspectSupport;
import org.springframework.context.annotation.Bean;

/**
 * A {@link LockstepCacheManager} when caching is enabled ({@code @EnableCaching}), no other {@link
 * CacheManager} is defined, and {@code lockstep.cache.enabled} is not false. Runs before Spring
 * Boot's own cache auto-configuration (Boot 4's and Boot 3's), which then backs off.
 */
@AutoConfiguration(
    after = LockstepAutoConfiguration.class,
    beforeName = {
      "org.springframework.boot.cache.autoconfigure.CacheAutoConfiguration",
      "org.springframework.boot.autoconfigure.cache.CacheAutoConfiguration"
    })
@ConditionalOnClass(CacheManager.class)
@ConditionalOnBean({CacheAspectSupport.class, Lockstep.class})
@ConditionalOnMissingBean(CacheManager.class)
@ConditionalOnProperty(name = "lockstep.cache.enabled", matchIfMissing = true)
public class LockstepCacheAutoConfiguration implements BeanClassLoaderAware {
  private ClassLoader classLoader = LockstepCacheAutoConfiguration.class.getClassLoader();

  @Override
  public void setBeanClassLoader(ClassLoader classLoader) {
    this.classLoader = classLoader;
  }

  /** The cache manager over the node's typed maps. */
  @Bean
  public LockstepCacheManager cacheManager(Lockstep node, LockstepProperties properties) {
    LockstepProperties.Cache c = properties.cache();
    return new LockstepCacheManager(
        node, c.names(), c.mapPrefix(), c.allowNullValues(), classLoader);
  }
}
