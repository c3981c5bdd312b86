// What the API and metrics read of the BGP speaker (speaker.ts), apart from it
// so that reading it loads no gRPC module: a daemon without BGP never loads them.
import type { SessionState } from './gobgp-client';

export interface BgpPeerView {
  address: string;
  asn: number;
  state: SessionState;
  uptimeSec?: number;
  received: number;
  advertised: number;
}

export interface BgpVipView {
  vip: string;
  prefix: string;
  announced: boolean;
  reason: string;
}

export interface BgpStatus {
  enabled: boolean;
  asn?: number;
  routerId?: string;
  /** whether gobgpd runs and is configured */
  speaker?: 'running' | 'down';
  peers?: BgpPeerView[];
  vips?: BgpVipView[];
}

/** What the API and metrics read: the speaker's state as of its last evaluation and peer poll, never a call to gobgpd. */
export interface BgpView {
  status(): BgpStatus;
  /** resolves once the evaluations asked for so far (a drain's) have been applied */
  settled?(): Promise<void>;
}

export const NO_BGP: BgpView = { status: () => ({ enabled: false }) };
