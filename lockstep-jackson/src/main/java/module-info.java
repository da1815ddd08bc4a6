/** {@link io.lockstep.jackson.JsonCodec}: typed-map values as JSON through Jackson. */
module io.lockstep.jackson {
  requires transitive io.lockstep;
  requires transitive com.fasterxml.jackson.databind;

  exports io.lockstep.jackson;
}
