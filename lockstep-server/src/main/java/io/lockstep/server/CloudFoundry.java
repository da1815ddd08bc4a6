package io.lockstep.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What Cloud Foundry tells an instance through its environment, read once at start.
 *
 * <ul>
 *   <li>{@code CF_INSTANCE_INDEX}: the instance's index, shown as {@code "Instance"} by the {@code
 *       /api/v1} routes; when it is unset or blank the instance is {@value #LOCAL}, as in the
 *       original demo.
 *   <li>{@code VCAP_APPLICATION}: JSON; its {@code application_id}, {@code application_name},
 *       {@code application_uris} and {@code instance_index} are shown in {@code /stats} and {@code
 *       /cluster}. A value that is not a JSON object, or a field of the wrong type, is ignored and
 *       reported in {@link #warnings()}: a platform quirk never stops the server.
 * </ul>
 *
 * @param instance the instance as the {@code /api/v1} routes show it
 * @param application the known fields of {@code VCAP_APPLICATION}, or null when it is absent,
 *     malformed, or has none of them
 * @param warnings what was ignored, and why; empty when nothing was
 */
record CloudFoundry(String instance, Application application, List<String> warnings) {
  static final String INSTANCE_INDEX = "CF_INSTANCE_INDEX";
  static final String VCAP_APPLICATION = "VCAP_APPLICATION";

  /** The instance shown when {@code CF_INSTANCE_INDEX} is unset, as in the original demo. */
  static final String LOCAL = "LOCAL SYSTEM";

  CloudFoundry {
    warnings = List.copyOf(warnings);
  }

  /**
   * The fields of {@code VCAP_APPLICATION} that Lockstep shows, under Cloud Foundry's own names.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Application(
      @JsonProperty("application_id") String applicationId,
      @JsonProperty("application_name") String applicationName,
      @JsonProperty("application_uris") List<String> applicationUris,
      @JsonProperty("instance_index") Integer instanceIndex) {}

  /** Reads {@code env}; never fails. */
  static CloudFoundry from(Map<String, String> env) {
    String index = env.get(INSTANCE_INDEX);
    String instance = index == null || index.isBlank() ? LOCAL : index.strip();
    List<String> warnings = new ArrayList<>();
    Application app = application(env.get(VCAP_APPLICATION), warnings);
    return new CloudFoundry(instance, app, warnings);
  }

  private static Application application(String raw, List<String> warnings) {
    if (raw == null || raw.isBlank()) {
      return null;
    }
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(raw);
    } catch (IOException e) {
      warnings.add(VCAP_APPLICATION + " ignored: not JSON (" + firstLine(e.getMessage()) + ")");
      return null;
    }
    if (root == null || !root.isObject()) {
      warnings.add(VCAP_APPLICATION + " ignored: expected a JSON object, was " + kind(root));
      return null;
    }
    int before = warnings.size();
    String id = text(root, "application_id", warnings);
    String name = text(root, "application_name", warnings);
    List<String> uris = uris(root, warnings);
    Integer index = null;
    JsonNode i = root.get("instance_index");
    if (i != null && !i.isNull()) {
      if (i.isIntegralNumber() && i.canConvertToInt() && i.intValue() >= 0) {
        index = i.intValue();
      } else {
        warnings.add(
            VCAP_APPLICATION
                + ": instance_index ignored: expected a non-negative whole number, was "
                + kind(i));
      }
    }
    if (id == null && name == null && uris == null && index == null) {
      if (warnings.size() > before) {
        return null; // each field present was of the wrong type, and said so
      }
      warnings.add(
          VCAP_APPLICATION
              + " ignored: it has none of application_id, application_name,"
              + " application_uris, instance_index");
      return null;
    }
    return new Application(id, name, uris, index);
  }

  private static String text(JsonNode root, String field, List<String> warnings) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      warnings.add(VCAP_APPLICATION + ": " + field + " ignored: expected a string, was " + kind(n));
      return null;
    }
    return n.textValue();
  }

  private static List<String> uris(JsonNode root, List<String> warnings) {
    JsonNode n = root.get("application_uris");
    if (n == null || n.isNull()) {
      return null;
    }
    String problem = n.isArray() ? null : kind(n);
    List<String> uris = new ArrayList<>();
    for (JsonNode u : n.isArray() ? n : List.<JsonNode>of()) {
      if (!u.isTextual()) {
        problem = "an array holding " + kind(u);
        break;
      }
      uris.add(u.textValue());
    }
    if (problem != null) {
      warnings.add(
          VCAP_APPLICATION
              + ": application_uris ignored: expected an array of strings, was "
              + problem);
      return null;
    }
    return List.copyOf(uris);
  }

  /** What a JSON value is, for messages; never its content (it may be long, or private). */
  static String kind(JsonNode n) {
    if (n == null || n.isMissingNode()) {
      return "nothing";
    }
    return switch (n.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    };
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unreadable";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
