/**
 * The PostgreSQL backend ({@code postgresql://}, {@code postgres://}), a thin adapter over core's
 * SPI on PgJDBC and HikariCP.
 */
module io.lockstep.postgres {
  requires io.lockstep;
  requires java.sql;
  requires org.postgresql.jdbc;
  requires com.zaxxer.hikari;
  requires com.fasterxml.jackson.databind;

  provides io.lockstep.spi.BackendProvider with
      io.lockstep.postgres.PostgresBackendProvider;
}
