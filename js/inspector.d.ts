// Types of the browser inspector (`minibase/inspector`).
import type { Connection, Row } from './index.js';

export interface TableOverview {
  name: string;
  rows: number;
  columns: object[];
  indexes: { name: string; columns: string[]; unique: boolean }[];
  primaryKey: string[];
  sync: boolean;
  comment: string;
}

/** Every database with its tables (schema and row count), and the engine's stats. */
export function describeRoot(conn: Connection): Promise<{ databases: { name: string; tables: TableOverview[] }[]; stats: object }>;
/** One page of a table's rows, in primary key order unless orderBy says otherwise. */
export function pageRows(conn: Connection, db: string, table: string, options?: { where?: object; orderBy?: unknown; offset?: number; limit?: number }): Promise<{ rows: Row[]; total: number; offset: number; limit: number }>;
/** A value as the inspector prints it. */
export function formatValue(v: unknown): string;
/** Draws the inspector (tables, a paged row view, a query box, stats) into root. */
export function mountInspector(root: HTMLElement, conn: Connection, options?: { pageSize?: number }): Promise<{ refresh(): Promise<void>; select(db: string, table: string): Promise<void>; destroy(): void }>;
