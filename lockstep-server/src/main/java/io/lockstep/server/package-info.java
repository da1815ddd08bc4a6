/**
 * The Lockstep HTTP API over one node, {@link io.lockstep.server.LockstepServer}, as a library to
 * embed: it depends on core, Javalin and Jackson only. Backends are not dependencies of this
 * package; the application (or the command line, {@code io.lockstep.cli}) chooses one.
 */
package io.lockstep.server;
