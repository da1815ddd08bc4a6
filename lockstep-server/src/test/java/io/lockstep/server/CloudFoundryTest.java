package io.lockstep.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading Cloud Foundry's environment: what is shown, and what is ignored with a warning. */
class CloudFoundryTest {

  @Test
  void instance_isCfInstanceIndex_elseLocalSystem() {
    assertThat(CloudFoundry.from(Map.of("CF_INSTANCE_INDEX", "2")).instance()).isEqualTo("2");
    assertThat(CloudFoundry.from(Map.of("CF_INSTANCE_INDEX", " 0 ")).instance()).isEqualTo("0");
    assertThat(CloudFoundry.from(Map.of("CF_INSTANCE_INDEX", "")).instance())
        .isEqualTo("LOCAL SYSTEM");
    assertThat(CloudFoundry.from(Map.of()).instance()).isEqualTo("LOCAL SYSTEM");
  }

  @Test
  void vcapApplication_knownFieldsAreKept_othersDropped() {
    CloudFoundry cf =
        CloudFoundry.from(
            Map.of(
                "VCAP_APPLICATION",
                "{\"application_id\":\"g\",\"application_uris\":"
                    + "[\"a.example.com\",\"b.example.com\"],\"name\":\"x\",\"space_id\":\"s\"}"));
    assertThat(cf.application())
        .isEqualTo(
            new CloudFoundry.Application(
                "g", null, List.of("a.example.com", "b.example.com"), null));
    assertThat(cf.warnings()).isEmpty();
  }

  @Test
  void vcapApplication_absent_isNoApplicationAndNoWarning() {
    for (Map<String, String> env :
        List.of(Map.<String, String>of(), Map.of("VCAP_APPLICATION", "  "))) {
      CloudFoundry cf = CloudFoundry.from(env);
      assertThat(cf.application()).isNull();
      assertThat(cf.warnings()).isEmpty();
    }
  }

  @Test
  void vcapApplication_malformed_isIgnoredWithAWarningThatSaysWhy() {
    Map<String, String> cases =
        Map.of(
            "{\"application_id\": ", "not JSON",
            "[1]", "expected a JSON object, was an array",
            "null", "expected a JSON object, was null",
            "{\"other\": 1}", "none of application_id");
    cases.forEach(
        (raw, why) -> {
          CloudFoundry cf = CloudFoundry.from(Map.of("VCAP_APPLICATION", raw));
          assertThat(cf.application()).as(raw).isNull();
          assertThat(cf.warnings())
              .as(raw)
              .singleElement()
              .asString()
              .startsWith("VCAP_APPLICATION ignored")
              .contains(why);
        });
  }

  @Test
  void vcapApplication_fieldOfTheWrongType_isDroppedWithAWarning_theRestKept() {
    CloudFoundry cf =
        CloudFoundry.from(
            Map.of(
                "VCAP_APPLICATION",
                "{\"application_id\": 1, \"application_name\": \"n\","
                    + " \"application_uris\": \"one.example.com\", \"instance_index\": -1}"));
    assertThat(cf.application()).isEqualTo(new CloudFoundry.Application(null, "n", null, null));
    assertThat(cf.warnings())
        .hasSize(3)
        .anySatisfy(
            w -> assertThat(w).contains("application_id ignored: expected a string, was a number"))
        .anySatisfy(
            w ->
                assertThat(w)
                    .contains(
                        "application_uris ignored: expected an array of strings, was a string"))
        .anySatisfy(w -> assertThat(w).contains("instance_index ignored"));
    assertThat(
            CloudFoundry.from(Map.of("VCAP_APPLICATION", "{\"application_uris\": [\"a\", 2]}"))
                .warnings())
        .singleElement()
        .asString()
        .contains(
            "application_uris ignored: expected an array of strings, was an array holding a number");
  }
}
