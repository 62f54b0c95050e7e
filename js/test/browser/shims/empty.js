// node:child_process and node:url have no use in the page.
export const spawnSync = () => {
  throw new Error('not in a browser');
};
export const fileURLToPath = (u) => String(u);
export default {};
