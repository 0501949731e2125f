// "Did you mean": the candidate closest to what was typed, ignoring case, when it is close
// enough to be a typo (at most a third of the name differs, or two letters of a short one).
import { closest, distance } from 'fastest-levenshtein';

export function closeMatch(typed: string, candidates: string[]): string | undefined {
  if (!candidates.length) return undefined;
  const lower = typed.toLowerCase();
  const best = closest(lower, candidates.map((c) => c.toLowerCase()));
  if (distance(lower, best) > Math.max(2, Math.floor(Math.max(typed.length, best.length) / 3))) return undefined;
  return candidates.find((c) => c.toLowerCase() === best);
}
