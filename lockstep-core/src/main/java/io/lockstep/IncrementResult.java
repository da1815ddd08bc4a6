package io.lockstep;

/**
 * The answer to an increment that carried a request id.
 *
 * @param value the counter's value right after the increment
 * @param replayed true when this is the remembered first answer to an earlier increment with the
 *     same request id, which this call did not count again
 */
public record IncrementResult(long value, boolean replayed) {}
