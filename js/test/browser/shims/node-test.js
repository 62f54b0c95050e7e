// Stands in for node:test when a node --test suite is bundled into a page:
// test() only records the cases; the page runs them (see pages/api.html).
export const cases = (globalThis.__testCases ??= []);
export function test(name, fn) {
  cases.push({ name, fn });
}
export default test;
