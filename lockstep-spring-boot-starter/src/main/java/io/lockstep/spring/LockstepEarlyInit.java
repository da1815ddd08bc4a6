package io.lockstep.spring;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.config.InstantiationAwareBeanPostProcessor;

/**
 * Creates the live-config bean (and so the node, and the property source) before the first other
 * bean is instantiated, once every bean post-processor is registered: so that {@code @Value} and
 * the first binding of every bean see the map's keys, whatever order the beans are defined in. It
 * holds no reference to the node itself; it only asks the bean factory for {@link
 * LockstepLiveConfig} once.
 */
final class LockstepEarlyInit implements InstantiationAwareBeanPostProcessor, BeanFactoryAware {
  private final AtomicBoolean done = new AtomicBoolean();
  private @Nullable ListableBeanFactory beanFactory;

  @Override
  public void setBeanFactory(BeanFactory beanFactory) {
    if (beanFactory instanceof ListableBeanFactory l) {
      this.beanFactory = l;
    }
  }

  @Override
  public @Nullable Object postProcessBeforeInstantiation(Class<?> beanClass, String beanName)
      throws BeansException {
    ListableBeanFactory f = beanFactory;
    if (f != null && done.compareAndSet(false, true)) {
      // the first bean instantiated after every post-processor is registered
      f.getBeanProvider(LockstepLiveConfig.class).ifAvailable(c -> {});
    }
    return null;
  }
}
