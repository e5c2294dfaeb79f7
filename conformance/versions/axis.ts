// A version axis: the versions a subject can be moved through on a running lab, and how. A subject
// file names one (`versions:`); campaigns (--versions, the nightly matrix) move along it between runs.
import type { Lab } from '../../lab/types.ts';

export interface VersionAxis {
  name: string;
  /** What moving along it does, for help and errors. */
  about: string;
  /** Why moving through these versions in this order cannot work on this lab; undefined when it can. */
  problem(lab: Lab, versions: string[]): string | undefined;
  /** Moves the subject running on the lab to a version; throws with the reason when it cannot. */
  moveTo(lab: Lab, version: string, progress: (message: string) => void): Promise<void>;
}
