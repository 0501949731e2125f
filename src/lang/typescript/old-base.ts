// Older in-repo bases that a base-to-base profile maps onto the new base (placeholder; filled in next).
import type { Node } from 'ts-morph';
import type { Profile } from '../../profile/profile.js';

export interface OldBase {
  className: string;
  /** Keys of the object passed to the old base's constructor → the new base's option keys. */
  options: Record<string, string>;
}

export function findOldBase(_root: string, _file: string, _expr: Node, _profile: Profile): OldBase | null {
  return null;
}
