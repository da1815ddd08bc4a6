/**
 * The Lockstep load tool: the etcd cache lab's locust workload (and a strict variant that a stale
 * cache fails), a propagation probe, and history checks over everything observed. Entry point:
 * {@link io.lockstep.bench.LoadRun}; the command line is {@code lockstep bench}.
 */
package io.lockstep.bench;
