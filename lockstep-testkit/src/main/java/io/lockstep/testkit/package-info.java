/**
 * Test support for Lockstep and its backends: {@link io.lockstep.testkit.InMemorySource} (a fake
 * source of truth for engine tests) and {@link io.lockstep.testkit.FaultyBackend}, the suites every
 * backend runs ({@link io.lockstep.testkit.ReplicatedMapContract}, {@link
 * io.lockstep.testkit.ClusterCounterContract}, {@link io.lockstep.testkit.MembershipWatchContract},
 * and {@link io.lockstep.testkit.ReplicationContract} for backends with a real server), their
 * common frame {@link io.lockstep.testkit.NamespacedSuite}, {@link
 * io.lockstep.testkit.TestResource} (a server for a test class or each test), and network faults:
 * {@link io.lockstep.testkit.NetLab} (partitions in network namespaces) and {@link
 * io.lockstep.testkit.TcpProxy}; and {@link io.lockstep.testkit.TestCertificates}, throwaway CAs
 * and certificates for the TLS tests. Real servers come from the process harness, {@code
 * io.lockstep.process}. Only tests depend on this module.
 */
package io.lockstep.testkit;
