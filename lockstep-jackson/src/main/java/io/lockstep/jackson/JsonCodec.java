package io.lockstep.jackson;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.lockstep.Codec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;

/**
 * A {@link Codec} that stores values as JSON ({@code application/json}) through Jackson: records,
 * POJOs, and generic types by {@link TypeReference}.
 *
 * <pre>{@code
 * record Quota(int limit) {}
 * TypedMap<Quota> quotas = node.map("quotas", JsonCodec.of(Quota.class));
 * TypedMap<List<Quota>> lists = node.map("lists", JsonCodec.of(new TypeReference<>() {}));
 * }</pre>
 *
 * <p>A typed map decodes each value once and hands that one object to every reader, so values must
 * not be modified. A record of immutable fields is immutable by construction; a POJO with setters,
 * or a record holding a mutable {@code List}, is not, and nothing stops a reader from changing what
 * every other reader sees: give such types immutable fields or decode into copies of your own.
 *
 * <p>Two codecs are equal when they have the same type and the same {@link ObjectMapper} (the
 * shared default one unless given), so {@code node.map(name, JsonCodec.of(T.class))} called twice
 * returns the same map. Thread safe.
 *
 * @param <V> the value type
 */
public final class JsonCodec<V> implements Codec<V> {
  /** The content type every value is written with. */
  public static final String CONTENT_TYPE = "application/json";

  private static final ObjectMapper DEFAULT = new ObjectMapper().findAndRegisterModules();

  private final JavaType type;
  private final ObjectMapper mapper;
  private final ObjectReader reader;
  private final ObjectWriter writer;

  private JsonCodec(JavaType type, ObjectMapper mapper) {
    this.type = type;
    this.mapper = mapper;
    this.reader = mapper.readerFor(type);
    this.writer = mapper.writerFor(type);
  }

  /**
   * Values of {@code type}, with a shared default {@link ObjectMapper} (modules found on the path).
   */
  public static <V> JsonCodec<V> of(Class<V> type) {
    return of(type, DEFAULT);
  }

  /** Values of {@code type}, with {@code mapper} (configured as the application wants). */
  public static <V> JsonCodec<V> of(Class<V> type, ObjectMapper mapper) {
    return new JsonCodec<>(mapper.constructType(Objects.requireNonNull(type, "type")), mapper);
  }

  /** Values of a generic type, e.g. {@code new TypeReference<List<Quota>>() {}}. */
  public static <V> JsonCodec<V> of(TypeReference<V> type) {
    return of(type, DEFAULT);
  }

  /** Values of a generic type, with {@code mapper}. */
  public static <V> JsonCodec<V> of(TypeReference<V> type, ObjectMapper mapper) {
    return new JsonCodec<>(mapper.constructType(Objects.requireNonNull(type, "type")), mapper);
  }

  @Override
  public byte[] encode(V value) {
    try {
      return writer.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot encode a " + type + " as JSON: " + e, e);
    }
  }

  /**
   * @throws UncheckedIOException when the bytes are not JSON of the type (the typed map keeps it as
   *     the key's decode failure)
   */
  @Override
  public V decode(byte[] bytes) {
    try {
      return reader.readValue(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON of " + type + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String contentType() {
    return CONTENT_TYPE;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JsonCodec<?> c && type.equals(c.type) && mapper == c.mapper;
  }

  @Override
  public int hashCode() {
    return type.hashCode() * 31 + System.identityHashCode(mapper);
  }

  @Override
  public String toString() {
    return "JsonCodec[" + type + "]";
  }
}
