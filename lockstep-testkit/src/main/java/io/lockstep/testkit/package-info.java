/**
 * Test support for Lockstep and its backends: {@link io.lockstep.testkit.InMemorySource} (a fake
 * source of truth for engine tests), {@link io.lockstep.testkit.ReplicatedMapContract} (the suite
 * every backend runs), and harnesses for real servers and networks: {@link
 * io.lockstep.testkit.EtcdProcess}, {@link io.lockstep.testkit.TcpProxy}, {@link
 * io.lockstep.testkit.FreePorts}. The harnesses need no test framework; the contract needs JUnit 5,
 * AssertJ and Awaitility, which this module declares optional.
 */
package io.lockstep.testkit;
