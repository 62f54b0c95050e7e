// A fetch for the sync client (sync.js) on top of a mini-program's
// `request` (wx.request, tt.request, my.request): mini-programs have no
// fetch. It answers only what sync.js reads of a response — status and
// text() — and sync.js long-polls on it (a request cannot stream).

import { MinibaseError } from './errors.js';

/**
 * @param {{ request: Function }} api the mini-program API object
 * @returns {(url: string, init?: { method?: string, headers?: object, body?: string, signal?: AbortSignal }) => Promise<{ status: number, ok: boolean, text(): Promise<string> }>}
 */
export function requestFetch(api) {
  return (url, { method = 'GET', headers = {}, body, signal } = {}) =>
    new Promise((resolve, reject) => {
      const aborted = () => new MinibaseError('NETWORK', 'the request was aborted');
      if (signal?.aborted) {
        reject(aborted());
        return;
      }
      const task = api.request({
        url,
        method,
        header: headers,
        data: body,
        dataType: 'text', // not 'json': sync.js hands the server's JSON to the engine as it is
        responseType: 'text',
        success(res) {
          const data = typeof res.data === 'string' ? res.data : JSON.stringify(res.data ?? null);
          resolve({ status: res.statusCode, ok: res.statusCode >= 200 && res.statusCode < 300, text: async () => data });
        },
        fail(err) {
          reject(new MinibaseError('NETWORK', `request ${method} ${url}: ${err?.errMsg ?? 'failed'}`));
        },
      });
      signal?.addEventListener?.('abort', () => {
        task?.abort?.();
        reject(aborted());
      });
    });
}
