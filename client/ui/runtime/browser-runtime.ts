/**
 * The app's runtime factory: each join starts a PeerRuntime (./peer-runtime.ts) whose peer
 * trains in this tab on the TF.js backend prepareBrowserTraining chose, against the server
 * that served the page. Downloads and backend setup start with the first join and are
 * shared by later ones. The current runtime is also `window.liecRuntime` (console, tests).
 * Making the factory also starts tracking the page's RTCPeerConnections (./link-kinds.ts),
 * before the transport first loads the constructor, so the peer table can tell direct links
 * from TURN-relayed ones.
 *
 * @example
 * app.runtimeFactory = browserRuntimeFactory(); // entry.ts
 */
import type { JoinParams } from '../join-link.ts';
import { prepareBrowserTraining, type BrowserTraining, type BrowserTrainingInit } from './browser-learner.ts';
import { trackPeerConnections } from './link-kinds.ts';
import { PeerRuntime } from './peer-runtime.ts';
import { tabFiles } from './tab-files.ts';

declare global {
  interface Window {
    liecRuntime?: PeerRuntime;
  }
}

export interface BrowserRuntimeInit extends BrowserTrainingInit {
  /** The signaling server. @default location.origin */
  serverUrl?: string;
}

export function browserRuntimeFactory(init: BrowserRuntimeInit = {}): (params: JoinParams) => PeerRuntime {
  let training: BrowserTraining | undefined;
  const connections = trackPeerConnections();
  return (params) => {
    const prepared = (training ??= prepareBrowserTraining(init));
    const runtime = new PeerRuntime({
      serverUrl: init.serverUrl ?? location.origin,
      ...params,
      createLearner: (config) => prepared.createLearner(config),
      capabilities: async () => ({
        backend: await prepared.backend,
        userAgent: navigator.userAgent.slice(0, 200),
      }),
      connections,
    });
    // A csv or images tab's own accuracy goes to /status with each (re)joined client's heartbeats,
    // with the round the tab is in; a figure measured in another session is not this one's.
    runtime.on('joined', ({ client, joined }) => {
      tabFiles.forSession(joined.sessionId, () => runtime.peer?.round);
      client.addToHeartbeats(() => tabFiles.heartbeat());
    });
    window.liecRuntime = runtime;
    return runtime;
  };
}
