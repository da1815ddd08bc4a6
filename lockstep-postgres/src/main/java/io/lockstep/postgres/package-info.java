/**
 * The PostgreSQL backend ({@code postgresql://user@host:port/db}): {@link
 * io.lockstep.postgres.PostgresBackend} adapts the backend SPI to one PostgreSQL database through
 * PgJDBC and HikariCP. The map is a key-value table Lockstep owns, or an existing table mirrored by
 * its primary key. A deferred trigger records every writer's changes with revisions in commit
 * order; {@code NOTIFY} rings the doorbell and replicas read the change log back. The adapter is
 * thin: ordering checks, resuming, relisting and digests are core's.
 */
package io.lockstep.postgres;
