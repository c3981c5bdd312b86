// Whether the node is draining: every VIP withdrawn over BGP so the routers
// send it nothing new, while the data plane goes on forwarding whatever still
// arrives (nothing in the data plane changes, so nothing is black-holed).
// Held in memory only: a restarted node starts active, as a node that comes
// back is meant to take traffic again.
import { EventEmitter } from 'node:events';
import { SluiceError } from '../errors';

export type NodeState = 'active' | 'draining';

export interface NodeDrainStatus {
  state: NodeState;
  /** when the drain began (ms since the epoch); only while draining */
  sinceMs?: number;
  /** 'api' (POST /api/v1/node/drain) or 'stop' (a stop signal: no undrain then) */
  by?: 'api' | 'stop';
}

/** What the speaker and the API read: the state, and 'change' on every transition. */
export interface NodeDrainView extends Pick<EventEmitter, 'on' | 'off'> {
  status(): NodeDrainStatus;
  draining(): boolean;
}

export class NodeDrain extends EventEmitter implements NodeDrainView {
  private current: NodeDrainStatus = { state: 'active' };

  constructor(private readonly clock: () => number = Date.now) {
    super();
  }

  status(): NodeDrainStatus {
    return { ...this.current };
  }

  draining(): boolean {
    return this.current.state === 'draining';
  }

  /**
   * Idempotent: a draining node keeps the time its drain began. A stop's drain
   * takes over one the API began, so that no undrain can undo it.
   * Returns whether the state changed.
   */
  drain(by: 'api' | 'stop' = 'api'): boolean {
    if (this.current.state === 'draining') {
      if (by === 'stop') this.current = { ...this.current, by };
      return false;
    }
    this.current = { state: 'draining', sinceMs: this.clock(), by };
    this.emit('change');
    return true;
  }

  /** Idempotent; refused (SLUICE_SHUTTING_DOWN) once a stop drains the node. Returns whether the state changed. */
  undrain(): boolean {
    if (this.current.by === 'stop') {
      throw new SluiceError('SLUICE_SHUTTING_DOWN', 'the daemon is stopping: the node drains until it exits and cannot be undrained');
    }
    if (this.current.state === 'active') return false;
    this.current = { state: 'active' };
    this.emit('change');
    return true;
  }
}

/** For an app without one (an embedding program, most tests): always active, no drain. */
export const NO_NODE_DRAIN: NodeDrainView = {
  status: () => ({ state: 'active' }),
  draining: () => false,
  on() { return this as never; },
  off() { return this as never; },
};
