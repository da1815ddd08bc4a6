package io.lockstep.redis;

import io.lockstep.Lockstep;
import io.lockstep.testkit.ReplicatedMapContract;
import io.lockstep.testkit.TestResource;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The replicated-map contract on a real Redis: one server for the class, a namespace per test. */
class RedisReplicatedMapContractIT extends ReplicatedMapContract {
  @RegisterExtension
  static final TestResource<RedisSource> redis = TestResource.of(RedisSource::onNewServer);

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder()
        .backend(redis.get().server().backendUri())
        .keyPrefix(keyPrefix)
        .build();
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    redis.get().put(keyPrefix, key, value, "application/json");
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return redis.get().digest(keyPrefix);
  }
}
