package io.lockstep.jcache;

import io.lockstep.process.TempDirs;
import java.nio.file.Path;
import javax.cache.Caching;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Sets up the backend the JCache TCK runs on, for the whole test JVM: the embedded peer backend as
 * a group of one, its Raft data in a throwaway folder. Before any test runs it names that backend
 * in the system property {@value LockstepCachingProvider#SYSTEM_BACKEND} (unless the build gave
 * one); when the session ends it closes every caching provider (and so the node) and deletes the
 * folder. Registered in {@code
 * META-INF/services/org.junit.platform.launcher.LauncherSessionListener}.
 */
public final class JCacheTckSession implements LauncherSessionListener {
  private Path dataDir;
  private boolean setBackend;

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    if (System.getProperty(LockstepCachingProvider.SYSTEM_BACKEND) == null) {
      dataDir = TempDirs.create("lockstep-jcache-tck-");
      System.setProperty(
          LockstepCachingProvider.SYSTEM_BACKEND, "peer:?data=" + dataDir.resolve("raft"));
      // one stable instance id: the group of one restarts on the same Raft data when the TCK
      // closes every provider and opens a new one
      System.setProperty(LockstepCachingProvider.SYSTEM_INSTANCE_ID, "jcache-tck");
      setBackend = true;
    }
  }

  @Override
  public void launcherSessionClosed(LauncherSession session) {
    Caching.getCachingProviders().forEach(p -> p.close());
    if (setBackend) {
      System.clearProperty(LockstepCachingProvider.SYSTEM_BACKEND);
      System.clearProperty(LockstepCachingProvider.SYSTEM_INSTANCE_ID);
    }
    if (dataDir != null) {
      TempDirs.deleteTree(dataDir);
    }
  }
}
