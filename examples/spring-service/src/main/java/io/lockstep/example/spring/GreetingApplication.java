package io.lockstep.example.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.cache.annotation.EnableCaching;

/**
 * A small service on the Lockstep starter: its greeting comes from live configuration (the map
 * {@code config}, rebound into {@link GreetingProperties}), and its slow quote lookup is cached in
 * a replicated Spring Cache.
 */
@SpringBootApplication
@EnableCaching
@ConfigurationPropertiesScan
public class GreetingApplication {

  public static void main(String[] args) {
    SpringApplication.run(GreetingApplication.class, args);
  }
}
