/**
 * Jackson JSON for {@link io.lockstep.TypedMap} values: {@link io.lockstep.jackson.JsonCodec}. Kept
 * out of core so that a user of core alone needs no Jackson.
 */
package io.lockstep.jackson;
