// Types for client.js: the Host's application protocol (docs/protocol.md) as discriminated unions, and the client API.

/** Any JSON value: what a channel message's `content` may be. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---- client to server -------------------------------------------------------------------------------------------
export interface AuthMessage { type: 'auth'; token: string }
/** With `offset` and `epoch` (both or neither): resume after that position; the client does this after a reconnect. */
export interface SubscribeMessage { type: 'subscribe'; channel: string; offset?: number; epoch?: string }
export interface UnsubscribeMessage { type: 'unsubscribe'; channel: string }
export interface PublishMessage { type: 'message'; channel: string; content: Json }
export interface PingMessage { type: 'ping' }
export interface RequestFileMessage { type: 'request-file'; name: string }
export type ClientMessage = AuthMessage | SubscribeMessage | UnsubscribeMessage | PublishMessage | PingMessage | RequestFileMessage;

// ---- server to client -------------------------------------------------------------------------------------------
export interface ConnectedMessage { type: 'connected'; id: string }
export interface AuthenticatedMessage { type: 'authenticated'; user: string }
/**
 * On a Host with channel history: `offset` and `epoch` are the position the live messages continue after (absent
 * without history, or while the server's broker is down). `recovered` answers a subscribe that resumed from a
 * position: true when every missed message was sent (they arrive before this, as `message`s with offsets), false when
 * some are lost (the history no longer reaches back, or it is another epoch): reload the channel's state.
 */
export interface SubscribedMessage { type: 'subscribed'; channel: string; offset?: number; epoch?: string; recovered?: boolean }
export interface UnsubscribedMessage { type: 'unsubscribed'; channel: string }
/** `offset`: the message's place in the channel's history, on a Host that keeps one (absent while its broker is down). */
export interface ChannelMessage { type: 'message'; channel: string; content: Json; from: string; offset?: number }
export interface PongMessage { type: 'pong' }
export interface ServerErrorMessage { type: 'error'; message: string }
export interface FileMetaMessage { type: 'file-meta'; name: string; size: number }
export type ServerMessage = ConnectedMessage | AuthenticatedMessage | SubscribedMessage | UnsubscribedMessage
  | ChannelMessage | PongMessage | ServerErrorMessage | FileMetaMessage;

// ---- binary envelope --------------------------------------------------------------------------------------------
export declare const EnvelopeKind: { readonly PUBLISH: 0x01; readonly CHANNEL_MESSAGE: 0x02; readonly FILE_DATA: 0x03; readonly CHANNEL_MESSAGE_WITH_OFFSET: 0x04 };
/**
 * A channel message in a binary frame: kind 0x02, or 0x04 with its history `offset` (a Host with channel history).
 * `payload` is a view into the received ArrayBuffer.
 */
export interface ChannelEnvelope { kind: 0x02 | 0x04; channel: string; from: string; offset?: number; payload: Uint8Array }
/** A chunk of file data (kind 0x03). */
export interface FileDataEnvelope { kind: 0x03; payload: Uint8Array }
export type ServerEnvelope = ChannelEnvelope | FileDataEnvelope;
export type BinaryPayload = ArrayBuffer | ArrayBufferView | string;

/** 0x01, channel length, channel name, payload. Throws ClientError 'protocol' for an invalid channel name. */
export declare function encodeChannelEnvelope(channel: string, payload: BinaryPayload): Uint8Array;
/** A server binary frame, or null when it is not a valid envelope. */
export declare function decodeEnvelope(data: ArrayBuffer | ArrayBufferView): ServerEnvelope | null;
/** 1-128 bytes of A-Z a-z 0-9 _ . : - */
export declare function isValidChannel(name: string): boolean;
/** min(maxDelay, baseDelay * 2^attempt) scaled by a random factor in [0.5, 1). */
export declare function backoffDelay(attempt: number, baseDelay?: number, maxDelay?: number, random?: () => number): number;

// ---- client -----------------------------------------------------------------------------------------------------
export declare const ReadyState: { readonly CONNECTING: 0; readonly OPEN: 1; readonly CLOSING: 2; readonly CLOSED: 3 };
export type ReadyStateValue = 0 | 1 | 2 | 3;
export declare const CloseCodes: { readonly NORMAL: 1000; readonly GOING_AWAY: 1001; readonly HEARTBEAT_TIMEOUT: 4000; readonly UNAUTHORIZED: 4001 };

export type ClientErrorKind = 'queue-full' | 'not-connected' | 'server' | 'socket' | 'retries-exhausted' | 'unauthorized' | 'protocol' | 'file';
export declare class ClientError extends Error {
  constructor(kind: ClientErrorKind, message: string);
  readonly kind: ClientErrorKind;
  /** Set when kind is 'server': the error message the server sent. */
  readonly serverMessage?: ServerErrorMessage;
}

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'open' | 'reconnecting' | 'closing' | 'closed';

export interface ClientOptions {
  /** JWT sent as the first message after every (re)connect; a function is called each time (to refresh it). Omit on an open server. */
  token?: string | (() => string | Promise<string>);
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
  /** ms between application pings; 0 disables. Default 25000. */
  heartbeatInterval?: number;
  /** ms to wait for a pong before closing with 4000 "Heartbeat timeout" and reconnecting. Default 10000. */
  heartbeatTimeout?: number;
  /** Backoff base in ms. Default 1000. */
  baseDelay?: number;
  /** Backoff cap in ms. Default 30000. */
  maxDelay?: number;
  /** Reconnection attempts after an unexpected close before giving up (reset after each successful open). Default 10. */
  maxRetries?: number;
  /** Messages held while not connected; one more makes send() throw ClientError 'queue-full'. Default 256. */
  maxQueue?: number;
  /** Connect in the constructor. Default true. */
  autoConnect?: boolean;
}

export interface OpenInfo { id: string | null; user: string | null; resubscribed: string[]; flushed: number }
export interface CloseInfo { code: number; reason: string; wasClean: boolean; wasOpen: boolean }
export interface ReconnectingInfo { attempt: number; delay: number; code: number; reason: string }
export interface FileProgress { name: string; received: number; size: number }
export interface FileResult { name: string; size: number; data: ArrayBuffer; blob: Blob }
/** A place in a channel's history: the last offset seen and the epoch naming that history. */
export interface ChannelPosition { offset: number; epoch: string }

export interface ClientEvents {
  /** Ready: open and (with a token) authenticated; channels re-subscribed and the queue flushed. */
  open: OpenInfo;
  close: CloseInfo;
  reconnecting: ReconnectingInfo;
  error: ClientError;
  state: ClientState;
  /** Every binary frame, as received. */
  binary: ArrayBuffer;
  /** Binary frames that are channel envelopes (kind 0x02 or 0x04), decoded. */
  'channel-binary': ChannelEnvelope;
  'file-progress': FileProgress;
  connected: ConnectedMessage;
  authenticated: AuthenticatedMessage;
  /** Every `subscribed`, including the one after each reconnect: check `recovered` there. */
  subscribed: SubscribedMessage;
  unsubscribed: UnsubscribedMessage;
  message: ChannelMessage;
  pong: PongMessage;
  'file-meta': FileMetaMessage;
}

export declare class EngineClient {
  constructor(url: string | URL, options?: ClientOptions);
  readonly readyState: ReadyStateValue;
  readonly state: ClientState;
  readonly isReady: boolean;
  readonly channels: string[];
  readonly queued: number;
  readonly connectionId: string | null;
  readonly user: string | null;
  /** Where `channel` resumes after a reconnect; null without channel history or when not joined. */
  position(channel: string): ChannelPosition | null;
  on<K extends keyof ClientEvents>(type: K, listener: (event: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(type: K, listener: (event: ClientEvents[K]) => void): void;
  connect(): void;
  close(code?: number, reason?: string): void;
  /** Sent now when ready, else queued; throws ClientError 'queue-full' / 'not-connected'. */
  send(message: ClientMessage | ArrayBuffer | ArrayBufferView): void;
  subscribe(channel: string): void;
  unsubscribe(channel: string): void;
  publish(channel: string, content: Json): void;
  publishBinary(channel: string, payload: BinaryPayload): void;
  ping(): void;
  requestFile(name: string, options?: { onProgress?: (received: number, size: number) => void; type?: string }): Promise<FileResult>;
}
