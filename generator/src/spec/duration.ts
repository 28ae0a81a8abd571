/** Durations in the topology: one spelling for the generator and the broker sections (runtime/core). */
export { formatDuration, parseDuration } from '@eventform/runtime';
