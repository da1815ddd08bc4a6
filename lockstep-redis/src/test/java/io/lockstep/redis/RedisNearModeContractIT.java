package io.lockstep.redis;

import io.lockstep.Lockstep;
import io.lockstep.LockstepBuilder;
import io.lockstep.testkit.NearModeContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The near-mode contract on a real Redis: one server for the class, a namespace per test. */
class RedisNearModeContractIT extends NearModeContract {
  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServer);

  @Override
  protected LockstepBuilder builder(String keyPrefix) {
    return Lockstep.builder().backend(redis.get().server().backendUri()).keyPrefix(keyPrefix);
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    redis.get().put(keyPrefix, key, value, "application/json");
  }
}
