// A minimal App/Page shim of the mini-program framework, for running an
// example's page logic headlessly: App(), Page() and getApp() as globals;
// a page instance has data, setData (values are JSON-cloned, as the
// framework serializes them to the view layer; undefined is refused) and
// its handlers, called with event objects of the framework's shape.
'use strict';

/** Sets path ('a', 'a.b', 'list[2].done') in obj. */
function setPath(obj, path, value) {
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[keys.at(-1)] = value;
}

function createFramework() {
  let app = null;
  const pageConfigs = [];
  const globals = {
    App(config) {
      if (app) throw new Error('App() called twice');
      app = Object.assign({}, config);
    },
    Page(config) {
      pageConfigs.push(config);
    },
    getApp: () => app,
  };

  /** Calls onLaunch, as the framework does at start. */
  function launch(options = {}) {
    if (!app) throw new Error('no App() registered');
    app.onLaunch?.call(app, options);
    return app;
  }

  /** A page instance of the last registered Page(config); records every setData. */
  function page(config = pageConfigs.at(-1)) {
    if (!config) throw new Error('no Page() registered');
    const history = [];
    const instance = {
      data: JSON.parse(JSON.stringify(config.data ?? {})),
      setData(patch, callback) {
        for (const [k, v] of Object.entries(patch)) {
          if (v === undefined) throw new Error(`setData: ${k} is undefined (the framework refuses it)`);
          setPath(instance.data, k, JSON.parse(JSON.stringify(v)));
        }
        history.push(JSON.parse(JSON.stringify(patch)));
        callback?.();
      },
      history,
    };
    for (const [k, v] of Object.entries(config)) {
      if (k !== 'data') instance[k] = typeof v === 'function' ? v.bind(instance) : v;
    }
    return instance;
  }

  return { globals, launch, page };
}

/** An event as the framework passes it to a handler. */
function event({ value, dataset = {} } = {}) {
  return { type: 'tap', detail: { value }, currentTarget: { dataset }, target: { dataset } };
}

module.exports = { createFramework, event };
