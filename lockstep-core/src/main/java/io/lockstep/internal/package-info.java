/** The engines behind the public API. Not exported; backends may not use it. */
package io.lockstep.internal;
