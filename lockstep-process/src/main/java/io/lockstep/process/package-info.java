/**
 * The process harness: external processes this JVM starts, watches and stops, and that die with it.
 * {@link io.lockstep.process.ManagedProcess} is the one such process (start, readiness, stop, kill,
 * pause, resume, restart, log, shutdown hook and watchdog); {@link io.lockstep.process.LocalServer}
 * is a backend server on it with a throwaway directory ({@link io.lockstep.process.EtcdProcess},
 * {@link io.lockstep.process.RedisProcess}); {@link io.lockstep.process.ServerProcess} and {@link
 * io.lockstep.process.ServerCluster} run Lockstep servers; plus {@link
 * io.lockstep.process.FreePorts} and {@link io.lockstep.process.TempDirs}. It needs no test
 * framework: the command line's {@code demo} and {@code bench} run local clusters with it, and the
 * tests do too.
 */
package io.lockstep.process;
