/**
 * The Lockstep server: the HTTP API over one node ({@link io.lockstep.server.LockstepServer}) and
 * the {@code lockstep} command line ({@link io.lockstep.server.Main}, one class per subcommand).
 * Backends are not dependencies of this package; they are found by URI scheme at run time.
 */
package io.lockstep.server;
