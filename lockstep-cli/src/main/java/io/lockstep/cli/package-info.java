/**
 * The {@code lockstep} command line: {@link io.lockstep.cli.Main} and one class per subcommand
 * ({@code serve}, {@code demo}, {@code bench}). Backends are found by URI scheme at run time.
 */
package io.lockstep.cli;
