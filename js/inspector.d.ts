// Types of the browser inspector (`minibase-db/inspector`).
import type { Connection } from './index.js';

export { describeRoot, pageRows, formatValue, type TableOverview } from './index.js';

/** Draws the inspector (tables, a paged row view, a query box, stats) into root. */
export function mountInspector(root: HTMLElement, conn: Connection, options?: { pageSize?: number }): Promise<{ refresh(): Promise<void>; select(db: string, table: string): Promise<void>; destroy(): void }>;
