/**
 * The etcd backend ({@code etcd://host:port,...}): {@link io.lockstep.etcd.EtcdBackend} adapts the
 * backend SPI to etcd v3 through jetcd, one namespace per node's key prefix, with etcd's global
 * revision as the map's revision. {@link io.lockstep.etcd.EtcdValueCodec} stores JSON values raw so
 * other programs can share the keys, and everything else with its content type in a small envelope.
 * The adapter is thin: ordering checks, resuming, relisting and digests are core's.
 */
package io.lockstep.etcd;
