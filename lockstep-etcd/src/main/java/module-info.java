/** The etcd backend ({@code etcd://}), a thin adapter over core's SPI on jetcd. */
module io.lockstep.etcd {
  requires io.lockstep;
  requires jetcd.core;
  requires jetcd.common;
  requires io.grpc;
  requires io.grpc.stub;
  requires io.netty.handler;
  requires com.fasterxml.jackson.databind;

  provides io.lockstep.spi.BackendProvider with
      io.lockstep.etcd.EtcdBackendProvider;
}
