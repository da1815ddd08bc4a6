/**
 * Spring Boot auto-configuration of a Lockstep node: the node as a bean ({@link
 * io.lockstep.spring.LockstepAutoConfiguration}, {@link io.lockstep.spring.LockstepProperties}),
 * live configuration from a replicated map ({@link io.lockstep.spring.LockstepLiveConfig}), Spring
 * Cache over typed maps ({@link io.lockstep.spring.LockstepCacheManager}), a health indicator and
 * the replica's meters. See {@code docs/spring.md}.
 */
package io.lockstep.spring;
