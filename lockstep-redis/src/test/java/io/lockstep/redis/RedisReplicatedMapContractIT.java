package io.lockstep.redis;

import io.lockstep.Lockstep;
import io.lockstep.process.RedisProcess;
import io.lockstep.testkit.ReplicatedMapContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The replicated-map contract on a real Redis: one server for the class, a namespace per test. */
class RedisReplicatedMapContractIT extends ReplicatedMapContract {
  private static RedisProcess redis;
  private static RedisSource source;

  @BeforeAll
  static void startRedis() {
    redis = new RedisProcess();
    source = new RedisSource(redis);
  }

  @AfterAll
  static void stopRedis() {
    source.close();
    redis.close();
  }

  @Override
  protected Lockstep newNode(String keyPrefix) {
    return Lockstep.builder().backend(redis.backendUri()).keyPrefix(keyPrefix).build();
  }

  @Override
  protected void writeExternally(String keyPrefix, String key, byte[] value) {
    source.put(keyPrefix, key, value, "application/json");
  }

  @Override
  protected long sourceDigest(String keyPrefix) {
    return source.digest(keyPrefix);
  }
}
