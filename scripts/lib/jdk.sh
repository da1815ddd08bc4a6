# Sourced by ./mvnw and bin/lockstep: selects a JDK whose major version is >= 21.
# Order: $JAVA_HOME, the java on PATH, then the newest JDK under /usr/lib/jvm or /opt/java.
# Exports JAVA_HOME and puts its bin first on PATH; fails loudly when none is found.

lockstep_java_major() { # $1 = path to a java binary; prints its major version or nothing
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -1 | cut -d. -f1
}

lockstep_select_jdk() {
  local min=21 cand best="" best_major=0 major
  for cand in "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    if [ -n "$cand" ] && [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ]; then
      major=$(lockstep_java_major "$cand/bin/java")
      if [ -n "$major" ] && [ "$major" -ge "$min" ]; then best=$cand; best_major=$major; break; fi
    fi
  done
  if [ -z "$best" ]; then
    for cand in /usr/lib/jvm/* /opt/java/* /usr/local/lib/jvm/*; do
      [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
      major=$(lockstep_java_major "$cand/bin/java")
      if [ -n "$major" ] && [ "$major" -ge "$min" ] && [ "$major" -gt "$best_major" ]; then best=$cand; best_major=$major; fi
    done
  fi
  if [ -z "$best" ]; then
    echo "lockstep: no JDK >= $min found (looked at JAVA_HOME, PATH, /usr/lib/jvm, /opt/java); install one and set JAVA_HOME" >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
}
