/**
 * The process harness: external processes (etcd, Redis, Lockstep servers) this JVM starts and
 * stops.
 */
module io.lockstep.process {
  requires java.net.http;

  exports io.lockstep.process;
}
