// A check ends in one of two ways short of its verdict: the subject did something that makes the
// check impossible to judge further (no stable responder, never ready again) — that is the
// subject's failure — or the harness itself broke (anything else thrown): a harness error.
export class SubjectFailure extends Error {}
