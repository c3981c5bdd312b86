// Liveness and readiness bodies, for orchestrators and load balancers in front.
import { Type } from '@sinclair/typebox';
import { strict } from './common';

export const Live = Type.Object({ status: Type.Literal('ok') }, strict);

export const Ready = Type.Object({ status: Type.Literal('ready') }, strict);

export const NotReady = Type.Object(
  {
    status: Type.Literal('not ready'),
    reason: Type.String(),
    portsDown: Type.Array(Type.String(), { description: 'ports whose link is down' }),
    lcoresStuck: Type.Array(Type.Integer(), { description: 'worker lcores whose loop has not moved for a second' }),
  },
  { ...strict, description: 'the data plane is not running, a port link is down, or a worker lcore is stuck' },
);
