// Module resolve hook for api-preload.mjs: 'minibase' is the wx build.
const target = new URL('./minibase-wx.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'minibase') return { url: target, shortCircuit: true };
  return next(specifier, context);
}
