// Module resolve hook for api-preload.mjs: 'minibase-db' is the wx build.
const target = new URL('./minibase-wx.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'minibase-db') return { url: target, shortCircuit: true };
  return next(specifier, context);
}
