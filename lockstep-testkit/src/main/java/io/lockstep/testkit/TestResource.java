package io.lockstep.testkit;

import java.util.Objects;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension that owns one closeable resource, typically a real server with a raw client
 * on it: registered in a static field, one resource serves the whole test class; registered in an
 * instance field, each test gets a fresh one. Either way it is closed after its last test, after
 * the test's own {@code @AfterEach} methods (so nodes on it close first).
 *
 * <pre>{@code
 * @RegisterExtension
 * static final TestResource<EtcdSource> etcd = TestResource.of(EtcdSource::onNewServer);
 * ... etcd.get().backendUri() ...
 * }</pre>
 *
 * <p>Not thread safe: JUnit calls it from the thread that runs the tests.
 */
public final class TestResource<T extends AutoCloseable>
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
  private final Supplier<T> factory;
  private T resource;
  private boolean perTest;

  private TestResource(Supplier<T> factory) {
    this.factory = factory;
  }

  /** A resource that {@code factory} creates (and starts) before the class or each test. */
  public static <T extends AutoCloseable> TestResource<T> of(Supplier<T> factory) {
    return new TestResource<>(Objects.requireNonNull(factory, "factory"));
  }

  /**
   * The resource of the running test.
   *
   * @throws IllegalStateException outside a test, or when the extension was not registered
   */
  public T get() {
    if (resource == null) {
      throw new IllegalStateException(
          "no resource: register the TestResource with @RegisterExtension, and use it "
              + "in tests only");
    }
    return resource;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    resource = factory.get();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (resource == null) {
      perTest = true;
      resource = factory.get();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    if (perTest) {
      close();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    close();
  }

  private void close() throws Exception {
    T r = resource;
    resource = null;
    if (r != null) {
      r.close();
    }
  }
}
