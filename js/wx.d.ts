// Types of the mini-program entry (`require('minibase-db')` after the
// mini-program npm build, or `minibase-db/wx`): the same API as the Node entry,
// with adapter 'wx' and the options of the WXWebAssembly loader.
import type { Connection, SchemaDeclaration, Storage, StorageOptions, LiveSubscription } from './index.js';

export * from './index.js';

/** The parts of a mini-program API object (wx, tt, my) minibase uses. */
export interface MiniProgramApi {
  env: { USER_DATA_PATH: string };
  getFileSystemManager(): object;
  getRandomValues(options: { length: number; success?: (res: { randomValues: ArrayBuffer }) => void; fail?: (res: { errMsg: string }) => void }): void;
  /** Where connect reads the base library version (SDKVersion) from, when present. */
  getAppBaseInfo?(): { SDKVersion?: string };
  getSystemInfoSync?(): { SDKVersion?: string };
}

export interface WxConnectOptions {
  /** Where data lives. Default 'wx' (files under wx.env.USER_DATA_PATH). */
  adapter?: 'wx' | 'memory';
  /** Directory of the data, under wx.env.USER_DATA_PATH unless it is a user-data path already. Default 'minibase'. */
  root?: string;
  /** The wx filesystem has no flush: both settings survive the app being killed, neither a power loss. */
  durability?: 'normal' | 'strict';
  /**
   * Absolute code-package path of the brotli engine. Default
   * '/miniprogram_npm/minibase-db/minibase.wasm.br'; a subpackage's path (e.g.
   * '/engine/minibase.wasm.br') once that subpackage has been loaded.
   */
  wasm?: string;
  /** The subpackage (app.json name or root) that holds `wasm`; loaded with wx.loadSubpackage before the engine starts. */
  subpackage?: string;
  /** The mini-program API object. Default the global wx, else tt, else my (Alipay: UNSUPPORTED_RUNTIME). */
  api?: MiniProgramApi;
  /** The WebAssembly loader. Default the global WXWebAssembly, or TTWebAssembly on Douyin. */
  WXWebAssembly?: { instantiate(path: string, imports: object): Promise<unknown> };
  /** Megabytes of wasm memory to reserve before the engine starts. Default 32. */
  reserveMB?: number;
  /** A declared, versioned schema: connect resolves once the root is at its version. */
  schema?: SchemaDeclaration;
}

export function connect(options?: WxConnectOptions): Promise<Connection>;

/** Starts the engine (loading the subpackage that holds it) without opening anything, and resolves once it runs: called in App onLaunch, a page's first connect finds it started. */
export function preload(options?: WxConnectOptions): Promise<void>;

export interface WxOpenStorageOptions extends StorageOptions, WxConnectOptions {}

export function openStorage(options?: WxOpenStorageOptions): Promise<Storage>;

/** The globals this runtime lacked and minibase installed when connect first started the engine (e.g. 'TextEncoder', 'crypto.getRandomValues'). */
export const polyfills: readonly string[];

/** Where the mini-program npm build puts the engine. */
export const DEFAULT_WASM_PATH: string;

/** The oldest WeChat base library minibase runs on ('2.16.1'); connect fails with UNSUPPORTED_RUNTIME below it. */
export const MIN_WECHAT_SDK: string;

/**
 * Shows a live query in a Page or Component: `page.data[key]` follows it and setData
 * gets only the changed paths (`'list[3].done'`); ends on onUnload / detached.
 */
export function bindLive<T>(
  page: { data?: Record<string, any>; setData(patch: Record<string, unknown>): void; [k: string]: any },
  key: string,
  live: Pick<LiveSubscription<T>, 'subscribe'>,
  options?: { map?: (value: T) => unknown; onError?: (err: Error) => void; depth?: number },
): { unsubscribe(): void; readonly sent: number };
