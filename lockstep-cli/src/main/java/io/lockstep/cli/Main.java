package io.lockstep.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code lockstep} command. Each subcommand is one class listed in {@link #SUBCOMMANDS}; adding
 * one is adding a class there. {@link #run(String...)} returns the exit code (0 ok, 1 failure, 2
 * usage error) so tests can call it in-process; only {@link #main(String[])} exits the JVM.
 */
@Command(
    name = "lockstep",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    synopsisSubcommandLabel = "COMMAND",
    usageHelpWidth = 100,
    description =
        "Keeps an in-memory map in step across every replica of a service, through a backend.",
    footer = {"", "Run 'lockstep COMMAND --help' for the options of a command."})
public final class Main implements Callable<Integer> {

  /** The subcommands, in the order help lists them. */
  static final List<Class<?>> SUBCOMMANDS =
      List.of(ServeCommand.class, DemoCommand.class, BenchCommand.class, CheckCommand.class);

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(
        spec.commandLine(),
        "Missing command: give one of " + String.join(", ", spec.subcommands().keySet()));
  }

  /** The command line, with every subcommand and the error handling of {@link #run(String...)}. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    for (Class<?> sub : SUBCOMMANDS) {
      cl.addSubcommand(sub);
    }
    cl.addSubcommand(new CommandLine.HelpCommand());
    cl.setParameterExceptionHandler(Main::usageError);
    cl.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          line.getErr().println("lockstep: " + e.getMessage());
          return CommandLine.ExitCode.SOFTWARE;
        });
    return cl;
  }

  /** A usage error: the message and a pointer to the help, not the whole help page. */
  private static int usageError(ParameterException e, String[] args) {
    CommandLine line = e.getCommandLine();
    PrintWriter err = line.getErr();
    err.println("lockstep: " + e.getMessage());
    err.println("Try '" + line.getCommandSpec().qualifiedName() + " --help' for more information.");
    err.flush();
    return CommandLine.ExitCode.USAGE;
  }

  /** Runs the command line and returns its exit code. */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** {@code --version}: the build's version and the JVM running it. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {
        "lockstep " + version(),
        "Java "
            + System.getProperty("java.version")
            + " ("
            + System.getProperty("java.vendor")
            + ")"
      };
    }

    static String version() {
      Properties p = new Properties();
      try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          p.load(in);
        }
      } catch (IOException e) {
        // fall through to "unknown"
      }
      return p.getProperty("version", "unknown");
    }
  }
}
