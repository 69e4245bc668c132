/**
 * A seeded pseudo-random generator for randomized tests and benchmarks, so that a failing run
 * can be replayed from its seed: mulberry32 (Tommy Ettinger's 32-bit generator; period 2^32,
 * not cryptographic).
 * @param seed any number; only its low 32 bits count.
 * @returns a function giving the next number, uniform in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
