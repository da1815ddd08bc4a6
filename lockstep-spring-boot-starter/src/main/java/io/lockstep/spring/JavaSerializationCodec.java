package io.lockstep.spring;

import io.lockstep.Codec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import org.jspecify.annotations.Nullable;
import org.springframework.core.ConfigurableObjectInputStream;

/**
 * The cache's codec: Java serialization, so any {@link java.io.Serializable} value can be cached
 * (Spring's {@link org.springframework.cache.support.NullValue} marker included), stored as {@code
 * application/x-java-serialized-object}. Classes are loaded through the application's class loader.
 *
 * <p>Java serialization trusts the bytes it reads: every writer of the cache maps must be an
 * instance of the application itself. Do not point the caches at maps other programs write.
 */
final class JavaSerializationCodec implements Codec<Object> {
  static final String CONTENT_TYPE = "application/x-java-serialized-object";

  private final @Nullable ClassLoader classLoader;

  JavaSerializationCodec(@Nullable ClassLoader classLoader) {
    this.classLoader = classLoader;
  }

  @Override
  public byte[] encode(Object value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (ObjectOutputStream o = new ObjectOutputStream(out)) {
      o.writeObject(value);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cache value of " + value.getClass().getName() + " cannot be serialized: " + e, e);
    }
    return out.toByteArray();
  }

  @Override
  public Object decode(byte[] bytes) {
    try (ObjectInputStream in =
        new ConfigurableObjectInputStream(new ByteArrayInputStream(bytes), classLoader)) {
      return in.readObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("cache value of an unknown class: " + e.getMessage(), e);
    }
  }

  @Override
  public String contentType() {
    return CONTENT_TYPE;
  }

  @Override
  public String toString() {
    return "JavaSerializationCodec";
  }
}
