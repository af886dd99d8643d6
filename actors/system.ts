import type { ActorSystem } from 'xstate';

/** The actor system every actor of the optimizer lives in (actors are found by system id). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OptimizerSystem = ActorSystem<any>;
