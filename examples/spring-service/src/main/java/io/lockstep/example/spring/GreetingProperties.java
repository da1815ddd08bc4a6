package io.lockstep.example.spring;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code greeting.*} properties. A JavaBean (setters), so that the starter rebinds this very
 * instance when a {@code greeting.*} key of the live-config map changes; a record would be
 * constructor-bound and could not change. The fields are volatile: the starter sets them on its own
 * thread while requests read them.
 */
@ConfigurationProperties("greeting")
public class GreetingProperties {
  private volatile String text = "Hello";
  private volatile String punctuation = "!";

  public String getText() {
    return text;
  }

  public void setText(String text) {
    this.text = text;
  }

  public String getPunctuation() {
    return punctuation;
  }

  public void setPunctuation(String punctuation) {
    this.punctuation = punctuation;
  }
}
