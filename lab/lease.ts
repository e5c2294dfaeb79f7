// The rules a lease's timing must follow, one place for the lab file and the command line's
// --lease-* flags (a flag must not accept what the lab file refuses).
import type { Lease } from './types.ts';

export interface LeaseProblem {
  field: 'duration' | 'renewDeadline' | 'retryPeriod';
  message: string;
}

const ms = (n: number) => `${n}ms`;

/** Every rule the lease breaks: the holder must stop before anyone can take over (renewDeadline <
 * duration), and retries must fit in the renew deadline, as client-go's leader election demands. */
export function leaseProblems(l: Lease): LeaseProblem[] {
  const out: LeaseProblem[] = [];
  if (l.renewDeadlineMs >= l.durationMs)
    out.push({
      field: 'renewDeadline',
      message: `${ms(l.renewDeadlineMs)} must be shorter than the lease duration (${ms(l.durationMs)}), or two nodes could answer at once`,
    });
  if (l.retryPeriodMs * 1.2 >= l.renewDeadlineMs)
    out.push({
      field: 'retryPeriod',
      message: `${ms(l.retryPeriodMs)} × 1.2 (jitter) must be shorter than the renew deadline (${ms(l.renewDeadlineMs)})`,
    });
  if (l.retryPeriodMs < 20)
    out.push({ field: 'retryPeriod', message: `${ms(l.retryPeriodMs)} is below 20ms; use at least 20ms` });
  return out;
}
