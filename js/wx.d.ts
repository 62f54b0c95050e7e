// Types of the mini-program entry (`require('minibase')` after the
// mini-program npm build, or `minibase/wx`): the same API as the Node entry,
// with adapter 'wx' and the options of the WXWebAssembly loader.
import type { Connection, Storage, StorageOptions } from './index.js';

export * from './index.js';

/** The parts of a mini-program API object (wx, tt, my) minibase uses. */
export interface MiniProgramApi {
  env: { USER_DATA_PATH: string };
  getFileSystemManager(): object;
  getRandomValues(options: { length: number; success?: (res: { randomValues: ArrayBuffer }) => void; fail?: (res: { errMsg: string }) => void }): void;
}

export interface WxConnectOptions {
  /** Where data lives. Default 'wx' (files under wx.env.USER_DATA_PATH). */
  adapter?: 'wx' | 'memory';
  /** Directory of the data, under wx.env.USER_DATA_PATH unless it is a user-data path already. Default 'minibase'. */
  root?: string;
  /** The wx filesystem has no flush: both settings survive the app being killed, neither a power loss. */
  durability?: 'normal' | 'strict';
  /** Absolute code-package path of the brotli engine. Default '/miniprogram_npm/minibase/minibase.wasm.br'. */
  wasm?: string;
  /** The mini-program API object. Default the global wx, else tt, else my. */
  api?: MiniProgramApi;
  /** The WebAssembly loader. Default the global WXWebAssembly. */
  WXWebAssembly?: { instantiate(path: string, imports: object): Promise<unknown> };
  /** Megabytes of wasm memory to reserve before the engine starts. Default 32. */
  reserveMB?: number;
}

export function connect(options?: WxConnectOptions): Promise<Connection>;

export interface WxOpenStorageOptions extends StorageOptions, WxConnectOptions {}

export function openStorage(options?: WxOpenStorageOptions): Promise<Storage>;

/** The globals this runtime lacked and minibase installed (e.g. 'TextEncoder', 'crypto.getRandomValues'). */
export const polyfills: readonly string[];

/** Where the mini-program npm build puts the engine. */
export const DEFAULT_WASM_PATH: string;
