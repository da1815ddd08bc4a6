package io.lockstep.example.spring;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.cache.annotation.CacheEvict;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.stereotype.Service;

/** Greets with the live greeting, and looks quotes up slowly (cached across the instances). */
@Service
public class GreetingService {
  /** How long the quote lookup takes: a stand-in for a remote call. */
  static final Duration LOOKUP_TIME = Duration.ofMillis(500);

  private final GreetingProperties properties;
  private final AtomicInteger lookups = new AtomicInteger();

  public GreetingService(GreetingProperties properties) {
    this.properties = properties;
  }

  /** The greeting for {@code name}, from the properties as they are now. */
  public String greet(String name) {
    return properties.getText() + ", " + name + properties.getPunctuation();
  }

  /** A slow lookup, cached by symbol in the replicated cache {@code quotes}. */
  @Cacheable("quotes")
  public String quote(String symbol) throws InterruptedException {
    lookups.incrementAndGet();
    Thread.sleep(LOOKUP_TIME); // the remote call this example stands in for
    return symbol + ": " + symbol.length() * 100;
  }

  /** Drops {@code symbol} from the cache on every instance. */
  @CacheEvict("quotes")
  public void forget(String symbol) {}

  /** How many lookups really ran on this instance. */
  public int lookups() {
    return lookups.get();
  }
}
